"""Filter registry: recipes list filters in `[[filters]]`, applied in that order by the curate stage."""

from __future__ import annotations

from typing import Any

from pipelines.filters.base import Filter, FilterSpec
from pipelines.filters.consistency import ConsistencyFilter, ConsistencySpec
from pipelines.filters.decontam import DecontamFilter, DecontamSpec
from pipelines.filters.dedup import DedupFilter, DedupSpec
from pipelines.filters.knowledge import KnowledgeFilter, KnowledgeSpec
from pipelines.filters.monotone import MonotoneFilter, MonotoneSpec
from pipelines.filters.rules import RulesFilter, RulesSpec
from pipelines.filters.thresholds import ThresholdsFilter, ThresholdsSpec
from synth.registry import Registry

FILTERS = Registry("filter")
FILTERS.register("rules", RulesSpec, RulesFilter)
FILTERS.register("knowledge", KnowledgeSpec, KnowledgeFilter)
FILTERS.register("dedup", DedupSpec, DedupFilter)
FILTERS.register("thresholds", ThresholdsSpec, ThresholdsFilter)
FILTERS.register("consistency", ConsistencySpec, ConsistencyFilter)
FILTERS.register("decontam", DecontamSpec, DecontamFilter)
FILTERS.register("monotone", MonotoneSpec, MonotoneFilter)  # ranked lists: cosine / judge-score monotonicity


def register_filter(name: str, spec_cls: type[FilterSpec], filter_cls: type | str) -> None:
    FILTERS.register(name, spec_cls, filter_cls)


def filter_spec_type() -> Any:
    return FILTERS.spec_type()


def build_filter(spec: FilterSpec) -> Filter:
    _, cls = FILTERS[spec.name]
    return cls(spec)


__all__ = ["FILTERS", "Filter", "FilterSpec", "build_filter", "filter_spec_type", "register_filter"]
