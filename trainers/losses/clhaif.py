"""CLHAIF: SimCSE's InfoNCE with soft targets from AI-feedback scores of the positive.

    z_i = [ cos(h_i, h_j+)/tau ]_j ++ [ cos(h_i, h_j-)/tau + w * 1[j = i] ]_j        (2N columns)
    smooth_positive:  L = -(1/N) sum_i s_i * log softmax(z_i)_i
    smooth_all:       y_ii = s_i,  y_ik = (1 - s_i) / (2N - 1) for k != i;
                      L = -(1/N) sum_i sum_k y_ik log softmax(z_i)_k

s_i is the judge's score of (anchor_i, positive_i) scaled to [0, 1]; the negative's score is unused, as in
the released code (`smooth_type`). Without hard negatives the logits have N columns and smooth_all spreads
(1 - s_i)/(N - 1). Cheng et al., "Improving Contrastive Learning of Sentence Embeddings from AI Feedback",
Findings ACL 2023 (xiami2019/CLAIF, clhaif_train.py + simcse/models.py).

| column | content |
|---|---|
| anchor | sentence |
| positive | its positive |
| negative | its hard negative (only with use_hard_negative) |
| score | positive_score scaled to [0, 1] |
"""

from __future__ import annotations

from typing import Any, Iterable, Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from trainers.losses.base import LossSpec, ScoreRangeMixin, task_rows
from trainers.losses.infonce import embed, simcse_logits

CITATION = """@inproceedings{cheng2023claif, title={Improving Contrastive Learning of Sentence Embeddings from AI
  Feedback}, author={Cheng, Qinyuan and Yang, Xiaogui and Sun, Tianxiang and Li, Linyang and Qiu, Xipeng},
  booktitle={Findings of ACL}, year={2023}}"""


class ClhaifSpec(LossSpec, ScoreRangeMixin):
    name: Literal["clhaif"] = "clhaif"
    scale: float = Field(20.0, gt=0)
    use_hard_negative: bool = True
    hard_negative_weight: float = 0.0
    smooth: Literal["positive", "all"] = "positive"


def clhaif_loss(z: Tensor, s: Tensor, smooth: str) -> Tensor:
    logp = torch.log_softmax(z, dim=1)
    n, cols = z.shape
    idx = torch.arange(n, device=z.device)
    if smooth == "positive":
        return -(s * logp[idx, idx]).mean()
    y = ((1 - s) / (cols - 1)).unsqueeze(1).expand(n, cols).clone()
    y[idx, idx] = s
    return -(y * logp).sum(dim=1).mean()


class ClhaifLoss(nn.Module):
    def __init__(
        self, model: Any, scale: float = 20.0, hard_negative_weight: float = 0.0, smooth: str = "positive"
    ) -> None:
        super().__init__()
        self.model, self.scale, self.hard_negative_weight, self.smooth = model, scale, hard_negative_weight, smooth

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        return self.compute_loss_from_embeddings(embed(self.model, sentence_features), labels)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        a, p = embeddings[0], embeddings[1]
        n = embeddings[2] if len(embeddings) > 2 else None
        z = simcse_logits(a, p, n, self.scale, self.hard_negative_weight)
        return clhaif_loss(z, labels.to(z.dtype), self.smooth)

    def get_config_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "hard_negative_weight": self.hard_negative_weight, "smooth": self.smooth}

    @property
    def citation(self) -> str:
        return CITATION


def build(model: Any, spec: ClhaifSpec) -> nn.Module:
    return ClhaifLoss(model, spec.scale, spec.hard_negative_weight, spec.smooth)


def columns(spec: ClhaifSpec) -> list[str]:
    return (["anchor", "positive", "negative"] if spec.use_hard_negative else ["anchor", "positive"]) + ["score"]


def extract(rows: list[dict[str, Any]], spec: ClhaifSpec) -> dict[str, list]:
    text_cols = columns(spec)[:-1]
    usable = [
        r for r in task_rows(rows, spec) if all(r.get(c) for c in text_cols) and r.get("positive_score") is not None
    ]
    out: dict[str, list] = {c: [r[c] for r in usable] for c in text_cols}
    out["score"] = [spec.normalise(float(r["positive_score"]), f"row {r.get('id')} positive_score") for r in usable]
    return out
