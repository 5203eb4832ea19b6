"""Loss registry: a recipe's `[[train.objectives]]` names a loss; each maps to (settings, builder, columns).

`columns` is the sentence-transformers contract: the dataset columns, in order, the loss consumes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


class LossSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    weight: float = Field(1.0, gt=0)


class InfoNCESpec(LossSpec):
    """InfoNCE with in-batch and hard negatives (SimCSE supervised; SynCSE). scale 20 = temperature 0.05."""

    name: Literal["infonce"] = "infonce"
    scale: float = Field(20.0, gt=0)
    use_hard_negative: bool = True


def _infonce(model: Any, spec: InfoNCESpec):
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    return MultipleNegativesRankingLoss(model, scale=spec.scale)


@dataclass(frozen=True)
class LossEntry:
    spec: type[LossSpec]
    build: Callable[[Any, Any], Any]  # (SentenceTransformer, spec) -> nn.Module
    columns: Callable[[Any], list[str]]  # spec -> dataset columns in order


LOSSES: dict[str, LossEntry] = {
    "infonce": LossEntry(InfoNCESpec, _infonce,
                         lambda s: ["anchor", "positive", "negative"] if s.use_hard_negative else ["anchor", "positive"]),
}


def register_loss(name: str, entry: LossEntry) -> None:
    LOSSES[name] = entry


def loss_spec_type() -> Any:
    specs = tuple(e.spec for e in LOSSES.values())
    if len(specs) == 1:
        return specs[0]
    return Annotated[Union[specs], Field(discriminator="name")]  # type: ignore[valid-type]
