"""Filter registry: recipes list filters in `[[filters]]`, applied in that order by the curate stage."""
from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field

from pipelines.filters.base import Filter, FilterSpec
from pipelines.filters.consistency import ConsistencyFilter, ConsistencySpec
from pipelines.filters.decontam import DecontamFilter, DecontamSpec
from pipelines.filters.dedup import DedupFilter, DedupSpec
from pipelines.filters.knowledge import KnowledgeFilter, KnowledgeSpec
from pipelines.filters.monotone import MonotoneFilter, MonotoneSpec
from pipelines.filters.rules import RulesFilter, RulesSpec
from pipelines.filters.thresholds import ThresholdsFilter, ThresholdsSpec

FILTERS: dict[str, tuple[type[FilterSpec], type]] = {
    "rules": (RulesSpec, RulesFilter),
    "knowledge": (KnowledgeSpec, KnowledgeFilter),
    "dedup": (DedupSpec, DedupFilter),
    "thresholds": (ThresholdsSpec, ThresholdsFilter),
    "consistency": (ConsistencySpec, ConsistencyFilter),
    "decontam": (DecontamSpec, DecontamFilter),
    "monotone": (MonotoneSpec, MonotoneFilter),  # ranked lists: cosine / judge-score monotonicity
}


def register_filter(name: str, spec_cls: type[FilterSpec], filter_cls: type) -> None:
    FILTERS[name] = (spec_cls, filter_cls)


def filter_spec_type() -> Any:
    specs = tuple(spec for spec, _ in FILTERS.values())
    if len(specs) == 1:
        return specs[0]
    return Annotated[Union[specs], Field(discriminator="name")]  # type: ignore[valid-type]


def build_filter(spec: FilterSpec) -> Filter:
    _, cls = FILTERS[spec.name]
    return cls(spec)


__all__ = ["FILTERS", "Filter", "FilterSpec", "build_filter", "filter_spec_type", "register_filter"]
