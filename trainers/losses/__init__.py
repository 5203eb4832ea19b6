"""Loss registry: a recipe's `[[train.objectives]]` names a loss; each maps to (settings, builder, columns).

`columns` is the sentence-transformers contract: the dataset columns, in order, the loss consumes.
`extract` turns curated dataset rows into those columns (which rows and fields an objective uses).
One module per objective; each docstring gives the formula, the inputs table and the paper.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Callable, Union

from pydantic import Field

from trainers.losses import clhaif, distill, gcse, infonce, listmle, multicsr, scored, simcse_unsup
from trainers.losses.base import LossSpec, columns_from_fields
from trainers.losses.infonce import InfoNCESpec

__all__ = ["LOSSES", "LossEntry", "LossSpec", "InfoNCESpec", "register_loss", "loss_spec_type", "build_loss"]


@dataclass(frozen=True)
class LossEntry:
    spec: type[LossSpec]
    build: Callable[[Any, Any], Any]  # (SentenceTransformer, spec) -> nn.Module
    columns: Callable[[Any], list[str]]  # spec -> dataset columns in order
    extract: Callable[[list[dict[str, Any]], Any], dict[str, list]] | None = None  # rows, spec -> columns

    def rows_to_columns(self, rows: list[dict[str, Any]], spec: Any) -> dict[str, list]:
        if self.extract is not None:
            return self.extract(rows, spec)
        return columns_from_fields(rows, spec, {c: c for c in self.columns(spec)})


LOSSES: dict[str, LossEntry] = {
    "infonce": LossEntry(InfoNCESpec, infonce.build, infonce.columns, infonce.extract),
    "simcse_unsup": LossEntry(simcse_unsup.SimCSEUnsupSpec, simcse_unsup.build, simcse_unsup.columns,
                              simcse_unsup.extract),
    "claif": LossEntry(scored.ClaifSpec, scored.build, scored.columns, scored.extract),
    "cosent": LossEntry(scored.CoSENTSpec, scored.build, scored.columns, scored.extract),
    "angle": LossEntry(scored.AnglESpec, scored.build, scored.columns, scored.extract),
    "clhaif": LossEntry(clhaif.ClhaifSpec, clhaif.build, clhaif.columns, clhaif.extract),
    "gcse": LossEntry(gcse.GcseSpec, gcse.build, gcse.columns, gcse.extract),
    "multicsr": LossEntry(multicsr.MultiCsrSpec, multicsr.build, multicsr.columns, multicsr.extract),
    "listmle": LossEntry(listmle.ListMLESpec, listmle.build, listmle.columns, listmle.extract),
    "distill_mse": LossEntry(distill.DistillMSESpec, distill.build, distill.columns, distill.extract),
    "distill_kl": LossEntry(distill.DistillKLSpec, distill.build, distill.columns, distill.extract),
}


def register_loss(name: str, entry: LossEntry) -> None:
    LOSSES[name] = entry


def build_loss(model: Any, spec: LossSpec) -> Any:
    """The registered loss module, scaled by the objective's weight when it is not 1."""
    from trainers.losses.base import ScaledLoss

    loss = LOSSES[spec.name].build(model, spec)
    return loss if spec.weight == 1.0 else ScaledLoss(loss, spec.weight)


def loss_spec_type() -> Any:
    specs = tuple(e.spec for e in LOSSES.values())
    if len(specs) == 1:
        return specs[0]
    return Annotated[Union[specs], Field(discriminator="name")]  # type: ignore[valid-type]
