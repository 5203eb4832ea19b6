"""GCSE: InfoNCE whose matched hard-negative logit is Gaussian-decayed by its drift from a frozen encoder.

    t_i = cos(h_i, h_i-)/tau            (trained model)      b_i = the same logit from the frozen reference
    d_i = t_i - b_i
    g_i = 0                              if d_i > 0
          -t_i * exp(-d_i^2 / (2 sigma^2))  otherwise        (detached: no gradient through g)
    z_i = [ cos(h_i, h_j+)/tau ]_j ++ [ cos(h_i, h_j-)/tau + (g_i + w) * 1[j = i] ]_j
    L   = -(1/N) sum_i log softmax(z_i)_i

While the model has not drifted from the reference (d ~ 0) a possibly-false hard negative is pushed to
logit ~0, shrinking its gradient; as |d| grows the full hard negative returns. sigma in logit units
(GCSE passes 0.17). The reference defaults to a frozen copy of the starting model (`base_from_pretrained`).
Lai et al., "Enhancing Unsupervised Sentence Embeddings via Knowledge-Driven Data Augmentation and
Gaussian-Decayed Contrastive Learning", ACL 2025 (aleversn/GCSE, main/models/gcse.py).

| column | content |
|---|---|
| anchor | sentence |
| positive | its positive |
| negative | its hard negative |
"""

from __future__ import annotations

from typing import Any, Iterable, Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from trainers.losses.base import FrozenEncoder, LossSpec, columns_from_fields, cos_logits
from trainers.losses.infonce import embed

CITATION = """@inproceedings{lai2025gcse, title={Enhancing Unsupervised Sentence Embeddings via Knowledge-Driven
  Data Augmentation and Gaussian-Decayed Contrastive Learning}, author={Lai, Peichao and others},
  booktitle={ACL}, year={2025}}"""


class GcseSpec(LossSpec):
    name: Literal["gcse"] = "gcse"
    scale: float = Field(20.0, gt=0)
    sigma: float = Field(0.17, gt=0, description="width of the Gaussian decay, logit units (GCSE: 0.17)")
    hard_negative_weight: float = 0.0
    reference: str | None = Field(None, description="frozen reference encoder; None: a frozen copy of the base")


def gaussian_offset(t: Tensor, b: Tensor, sigma: float) -> Tensor:
    """g_i of GCSE, detached."""
    t, b = t.detach(), b.detach()
    d = t - b
    return torch.where(d > 0, torch.zeros_like(t), -t * torch.exp(-(d**2) / (2 * sigma**2)))


def gcse_logits(
    a: Tensor, p: Tensor, n: Tensor, ref_a: Tensor, ref_n: Tensor, scale: float, sigma: float, hn_weight: float = 0.0
) -> Tensor:
    zp = cos_logits(a, p, scale)
    zn = cos_logits(a, n, scale)
    t = zn.diagonal()
    b = cos_logits(ref_a, ref_n, scale).diagonal()  # same op as t, so d is exactly 0 for an unmoved model
    offset = gaussian_offset(t, b, sigma) + hn_weight
    zn = zn + torch.diag_embed(offset)
    return torch.cat([zp, zn], dim=1)


class GcseLoss(nn.Module):
    def __init__(
        self,
        model: Any,
        reference: FrozenEncoder,
        scale: float = 20.0,
        sigma: float = 0.17,
        hard_negative_weight: float = 0.0,
    ) -> None:
        super().__init__()
        self.model, self.scale, self.sigma, self.hard_negative_weight = model, scale, sigma, hard_negative_weight
        self.__dict__["reference"] = reference  # plain attribute: not a submodule, not trained, not saved

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None) -> Tensor:
        feats = list(sentence_features)
        a, p, n = embed(self.model, feats)
        ref_a, ref_n = self.reference.embed(feats[0]), self.reference.embed(feats[2])
        z = gcse_logits(
            a, p, n, ref_a.to(a.device), ref_n.to(a.device), self.scale, self.sigma, self.hard_negative_weight
        )
        return nn.functional.cross_entropy(z, torch.arange(a.size(0), device=z.device))

    def get_config_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "sigma": self.sigma, "hard_negative_weight": self.hard_negative_weight}

    @property
    def citation(self) -> str:
        return CITATION


def build(model: Any, spec: GcseSpec) -> nn.Module:
    return GcseLoss(model, FrozenEncoder(model, spec.reference), spec.scale, spec.sigma, spec.hard_negative_weight)


def columns(spec: GcseSpec) -> list[str]:
    return ["anchor", "positive", "negative"]


def extract(rows: list[dict[str, Any]], spec: GcseSpec) -> dict[str, list]:
    return columns_from_fields(rows, spec, {c: c for c in columns(spec)})
