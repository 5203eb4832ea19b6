"""Shared pieces of the loss modules: the spec base, row selection, a frozen reference encoder, cosine logits.

A loss module is a sentence-transformers loss: `forward(sentence_features, labels)` embeds each dataset
column with the trained model and returns a scalar. Frozen reference/teacher encoders (GCSE, MultiCSR,
RankGen) are held outside the module tree (`FrozenEncoder` is not an `nn.Module`), so they are never
trained, never switched to train mode by the trainer, and never saved with the trained model.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn


class LossSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    weight: float = Field(1.0, gt=0, description="multiplies this objective's loss")
    tasks: list[str] | None = Field(None, description="use only rows written by these tasks (None: any row)")


class ScoreRangeMixin(BaseModel):
    """Judge scores are on [score_min, score_max] (issue 4's judge: 0-5); losses see them scaled to [0, 1]."""

    score_min: float = 0.0
    score_max: float = 5.0

    def normalise(self, score: float, where: str) -> float:
        if not self.score_min <= score <= self.score_max:
            raise ValueError(
                f"objective {getattr(self, 'name', '?')}: {where} score {score} is outside "
                f"[score_min, score_max] = [{self.score_min}, {self.score_max}]; set them in the recipe"
            )
        return (score - self.score_min) / (self.score_max - self.score_min)


def task_rows(rows: Iterable[dict[str, Any]], spec: LossSpec) -> list[dict[str, Any]]:
    return [r for r in rows if spec.tasks is None or r.get("task") in spec.tasks]


def columns_from_fields(rows: Iterable[dict[str, Any]], spec: LossSpec, fields: dict[str, str]) -> dict[str, list]:
    """{dataset column: row field}; keeps rows where every field is present."""
    usable = [r for r in task_rows(rows, spec) if all(r.get(f) is not None for f in fields.values())]
    return {col: [r[f] for r in usable] for col, f in fields.items()}


def cos_logits(a: Tensor, b: Tensor, scale: float) -> Tensor:
    """scale * cos(a_i, b_j) for all i, j (scale = 1/temperature)."""
    return scale * nn.functional.normalize(a, dim=-1) @ nn.functional.normalize(b, dim=-1).T


class FrozenEncoder:
    """A reference/teacher SentenceTransformer kept in eval mode and run under no_grad.

    Built from a path/id or as a frozen copy of the model about to be trained (`source=None`: GCSE's
    `base_from_pretrained`). Not an nn.Module on purpose: the loss that holds it does not register it.
    """

    def __init__(self, trained: Any, source: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        from synth.embedded import resolve_encoder

        if source is None:
            self.model = copy.deepcopy(trained)
        else:
            self.model = SentenceTransformer(resolve_encoder(source), device=str(trained.device))
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.trained_tokenizer = trained.tokenizer
        self.same_tokenizer = source is None or (
            type(self.model.tokenizer) is type(trained.tokenizer)
            and self.model.tokenizer.get_vocab() == trained.tokenizer.get_vocab()
        )

    @torch.no_grad()
    def embed(self, features: dict[str, Tensor]) -> Tensor:
        self.model.eval()
        if self.same_tokenizer:
            feats = {k: v for k, v in features.items() if isinstance(v, Tensor)}
        else:  # another vocabulary: decode the trained model's tokens and re-tokenize for the reference
            texts = self.trained_tokenizer.batch_decode(features["input_ids"], skip_special_tokens=True)
            feats = self.model.tokenize(texts)
        device = next(self.model.parameters()).device  # tokenize() may add non-tensor entries: keep tensors only
        out = self.model({k: v.to(device) for k, v in feats.items() if isinstance(v, Tensor)})
        return out["sentence_embedding"].detach()


class ScaledLoss(nn.Module):
    """weight * inner loss, for `weight != 1` in the recipe (combining objectives across datasets)."""

    def __init__(self, inner: nn.Module, weight: float) -> None:
        super().__init__()
        self.inner, self.weight = inner, weight
        self.model = inner.model

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None) -> Tensor:
        return self.weight * self.inner(sentence_features, labels)

    @property
    def citation(self) -> str:
        return getattr(self.inner, "citation", "")
