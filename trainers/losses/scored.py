"""Score-aware pair regression on AI-feedback scores: CLAIF (cosine regression), CoSENT, AnglE.

CLAIF (Cheng et al., "Improving Contrastive Learning of Sentence Embeddings from AI Feedback", Findings
ACL 2023), as its released trainer does it with sentence-transformers' CosineSimilarityLoss:

    y_hat = 0.8 * s + 0.1          (label smoothing of the [0, 1]-normalised judge score s)
    L     = (1/N) sum_i (cos(u_i, v_i) - y_hat_i)^2

CoSENT (Su 2022) and AnglE (Li & Li 2023) are the sentence-transformers built-ins: ranking losses over
all pairs in the batch, so only the order of the scores matters (the smoothing is then irrelevant).

| column | content |
|---|---|
| sentence1 | anchor |
| sentence2 | the scored text: positive (positive_score), negative (negative_score), text_b (pair_score) |
| score | the judge score scaled from [score_min, score_max] to [0, 1] (smoothed for claif) |
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from torch import nn

from trainers.losses.base import LossSpec, ScoreRangeMixin, task_rows

PAIR_FIELDS = (("positive", "positive_score"), ("negative", "negative_score"), ("text_b", "pair_score"))


class ClaifSpec(LossSpec, ScoreRangeMixin):
    name: Literal["claif"] = "claif"
    smoothing: float = Field(0.8, gt=0, le=1, description="y = smoothing * s + (1 - smoothing) / 2 (CLAIF: 0.8)")


class CoSENTSpec(LossSpec, ScoreRangeMixin):
    name: Literal["cosent"] = "cosent"
    scale: float = Field(20.0, gt=0)


class AnglESpec(LossSpec, ScoreRangeMixin):
    name: Literal["angle"] = "angle"
    scale: float = Field(20.0, gt=0)


def columns(spec: Any) -> list[str]:
    return ["sentence1", "sentence2", "score"]


def scored_pairs(rows: list[dict[str, Any]], spec: Any) -> list[tuple[str, str, float]]:
    """Every (anchor, text, normalised score) a row carries, from its three scored slots."""
    out = []
    for r in task_rows(rows, spec):
        for text_f, score_f in PAIR_FIELDS:
            if r.get(text_f) and r.get(score_f) is not None and r.get("anchor"):
                out.append((r["anchor"], r[text_f], spec.normalise(float(r[score_f]), f"row {r.get('id')} {score_f}")))
    return out


def extract(rows: list[dict[str, Any]], spec: Any) -> dict[str, list]:
    pairs = scored_pairs(rows, spec)
    if isinstance(spec, ClaifSpec):
        pairs = [(a, b, spec.smoothing * s + (1 - spec.smoothing) / 2) for a, b, s in pairs]
    return {"sentence1": [p[0] for p in pairs], "sentence2": [p[1] for p in pairs], "score": [p[2] for p in pairs]}


def build(model: Any, spec: Any) -> nn.Module:
    from sentence_transformers.sentence_transformer import losses

    if isinstance(spec, ClaifSpec):
        return losses.CosineSimilarityLoss(model)
    if isinstance(spec, CoSENTSpec):
        return losses.CoSENTLoss(model, scale=spec.scale)
    return losses.AnglELoss(model, scale=spec.scale)
