"""InfoNCE with in-batch and hard negatives and a hard-negative weight (supervised SimCSE; SynCSE).

    z_i = [ cos(h_i, h_j+)/tau ]_j  ++  [ cos(h_i, h_j-)/tau + w * 1[j = i] ]_j
    L   = -(1/N) sum_i log softmax(z_i)_i

w is the *log* of the hard-negative weight, added only to each anchor's own hard-negative logit
(SimCSE `--hard_negative_weight`, default 0). scale = 1/tau (20 = SimCSE's tau 0.05).
Gao, Yao, Chen, "SimCSE: Simple Contrastive Learning of Sentence Embeddings", EMNLP 2021;
Zhang, Lan, He, "Contrastive Learning of Sentence Embeddings from Scratch" (SynCSE), EMNLP 2023.

| column | content |
|---|---|
| anchor | sentence |
| positive | its positive (paraphrase / entailment) |
| negative | its hard negative (only with use_hard_negative) |

With w = 0 this is exactly sentence-transformers' MultipleNegativesRankingLoss, which is used then. Under a
data-parallel launcher the positives and hard negatives of every process are gathered (trainers/losses/gather.py):
each anchor's candidates are the global batch, as on one GPU.
"""

from __future__ import annotations

from typing import Any, Iterable, Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from trainers.losses.base import LossSpec, columns_from_fields, cos_logits
from trainers.losses.gather import gather_with_grad, gathering, local_offset

CITATION = """@inproceedings{gao2021simcse, title={SimCSE: Simple Contrastive Learning of Sentence Embeddings},
  author={Gao, Tianyu and Yao, Xingcheng and Chen, Danqi}, booktitle={EMNLP}, year={2021}}"""


class InfoNCESpec(LossSpec):
    """InfoNCE with in-batch and hard negatives (SimCSE supervised; SynCSE). scale 20 = temperature 0.05."""

    name: Literal["infonce"] = "infonce"
    scale: float = Field(20.0, gt=0)
    use_hard_negative: bool = True
    hard_negative_weight: float = Field(0.0, description="log-weight added to each anchor's own hard-negative logit")


def simcse_logits(
    a: Tensor, p: Tensor, n: Tensor | None, scale: float, hn_weight: float = 0.0, offset: int = 0
) -> Tensor:
    """[N, M] or [N, 2M] logits of SimCSE's cl_forward (positives block, then hard-negatives block); anchor i's
    own candidates are row offset + i of p and n (offset > 0 when candidates were gathered across processes)."""
    z = cos_logits(a, p, scale)
    if n is not None:
        zn = cos_logits(a, n, scale)
        if hn_weight:
            rows = torch.arange(a.size(0), device=zn.device)
            own = torch.zeros_like(zn)
            own[rows, rows + offset] = hn_weight
            zn = zn + own
        z = torch.cat([z, zn], dim=1)
    return z


def embed(model: Any, sentence_features: Iterable[dict[str, Tensor]]) -> list[Tensor]:
    from sentence_transformers.base.losses.merged_forward import embed_columns

    return embed_columns(model, list(sentence_features))


class InfoNCELoss(nn.Module):
    def __init__(
        self, model: Any, scale: float = 20.0, hard_negative_weight: float = 0.0, gather_across_devices: bool = False
    ) -> None:
        super().__init__()
        self.model, self.scale, self.hard_negative_weight = model, scale, hard_negative_weight
        self.gather_across_devices = gather_across_devices

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None) -> Tensor:
        return self.compute_loss_from_embeddings(embed(self.model, sentence_features), labels)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor | None = None) -> Tensor:
        a, p = embeddings[0], embeddings[1]
        n = embeddings[2] if len(embeddings) > 2 else None
        offset = 0
        if self.gather_across_devices:
            offset = local_offset(a.size(0))
            p, n = gather_with_grad(p), None if n is None else gather_with_grad(n)
        z = simcse_logits(a, p, n, self.scale, self.hard_negative_weight, offset)
        return nn.functional.cross_entropy(z, offset + torch.arange(a.size(0), device=z.device))

    def get_config_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "hard_negative_weight": self.hard_negative_weight}

    @property
    def citation(self) -> str:
        return CITATION


def build(model: Any, spec: InfoNCESpec) -> nn.Module:
    if spec.hard_negative_weight == 0.0:
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

        return MultipleNegativesRankingLoss(model, scale=spec.scale, gather_across_devices=gathering())
    return InfoNCELoss(model, spec.scale, spec.hard_negative_weight, gather_across_devices=gathering())


def columns(spec: InfoNCESpec) -> list[str]:
    return ["anchor", "positive", "negative"] if spec.use_hard_negative else ["anchor", "positive"]


def extract(rows: list[dict[str, Any]], spec: InfoNCESpec) -> dict[str, list]:
    return columns_from_fields(rows, spec, {c: c for c in columns(spec)})
