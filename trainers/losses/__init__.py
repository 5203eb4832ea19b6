"""Loss registry: a recipe's `[[train.objectives]]` names a loss; each maps to (settings, builder, columns).

`columns` is the sentence-transformers contract: the dataset columns, in order, the loss consumes.
`extract` turns curated dataset rows into those columns (which rows and fields an objective uses).
One module per objective; each docstring gives the formula, the inputs table and the paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from synth.registry import Registry
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


LOSSES = Registry("loss")


def register_loss(name: str, entry: LossEntry) -> None:
    LOSSES.register(name, entry.spec, entry)


for _name, _spec, _module in [
    ("infonce", InfoNCESpec, infonce),
    ("simcse_unsup", simcse_unsup.SimCSEUnsupSpec, simcse_unsup),
    ("claif", scored.ClaifSpec, scored),
    ("cosent", scored.CoSENTSpec, scored),
    ("angle", scored.AnglESpec, scored),
    ("clhaif", clhaif.ClhaifSpec, clhaif),
    ("gcse", gcse.GcseSpec, gcse),
    ("multicsr", multicsr.MultiCsrSpec, multicsr),
    ("listmle", listmle.ListMLESpec, listmle),
    ("distill_mse", distill.DistillMSESpec, distill),
    ("distill_kl", distill.DistillKLSpec, distill),
]:
    register_loss(_name, LossEntry(_spec, _module.build, _module.columns, _module.extract))


def build_loss(model: Any, spec: LossSpec) -> Any:
    """The registered loss module, scaled by the objective's weight when it is not 1."""
    from trainers.losses.base import ScaledLoss

    loss = LOSSES.impl(spec.name).build(model, spec)
    return loss if spec.weight == 1.0 else ScaledLoss(loss, spec.weight)


def loss_spec_type() -> Any:
    return LOSSES.spec_type()
