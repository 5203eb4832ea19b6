"""MultiCSR false-negative masking: in-batch candidates that a frozen encoder finds near-identical are masked.

    S_ij = cos(h_i, h_j+)/tau,  S-_ij = cos(h_i, h_j-)/tau,   z = [S | S-]          (N x 2N, or N x N)
    M_ik = 0 where the frozen encoder's cos(anchor_i, candidate_k) > phi, else 1;  M_ii = 1 (own positive)

variant "infonce" (default): masked logits are set to -inf, i.e. removed from the softmax denominator,
    L = -(1/N) sum_i log softmax(z_i masked)_i
variant "released" (the released code, simcse/models.py): p = softmax(z * M) (a masked logit becomes 0,
    not removed), then binary cross-entropy over all columns against the one-hot positive,
    L = -mean_{i,k} [ y_ik log p_ik + (1 - y_ik) log(1 - p_ik) ].
The default removes a false negative outright, which is what "masking" means; in the released form a masked
logit of 0 still competes (e^0 against logits up to 1/tau = 20) and the BCE term rescales the gradient, so we
keep it only to reproduce the paper. Wang et al., "Large Language Models can Contrastively Refine their
Generation for Better Sentence Representation Learning" (MultiCSR), NAACL 2024 (Circle-Ming/MultiCSR).

| column | content |
|---|---|
| anchor | sentence |
| positive | its positive |
| negative | its hard negative (only with use_hard_negative) |
"""

from __future__ import annotations

from typing import Any, Iterable, Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from trainers.losses.base import FrozenEncoder, LossSpec, columns_from_fields, cos_logits
from trainers.losses.infonce import embed

CITATION = """@inproceedings{wang2024multicsr, title={Large Language Models can Contrastively Refine their
  Generation for Better Sentence Representation Learning}, author={Wang, Huiming and others},
  booktitle={NAACL}, year={2024}}"""


class MultiCsrSpec(LossSpec):
    name: Literal["multicsr"] = "multicsr"
    scale: float = Field(20.0, gt=0)
    phi: float = Field(0.95, gt=-1, le=1, description="mask candidates whose frozen cosine exceeds phi")
    use_hard_negative: bool = True
    variant: Literal["infonce", "released"] = "infonce"
    reference: str | None = Field(None, description="frozen encoder (MultiCSR: unsup-SimCSE); None: frozen base copy")


def false_negative_mask(ref_a: Tensor, ref_cands: Tensor, phi: float) -> Tensor:
    """True where a candidate is kept: frozen cos <= phi, own positive (diagonal of the first block) always kept."""
    keep = cos_logits(ref_a, ref_cands, 1.0) <= phi
    idx = torch.arange(ref_a.size(0), device=keep.device)
    keep[idx, idx] = True
    return keep


def multicsr_loss(z: Tensor, keep: Tensor, variant: str) -> Tensor:
    n = z.size(0)
    idx = torch.arange(n, device=z.device)
    if variant == "infonce":
        return nn.functional.cross_entropy(z.masked_fill(~keep, float("-inf")), idx)
    p = torch.softmax(z * keep.to(z.dtype), dim=1)
    y = torch.zeros_like(p)
    y[idx, idx] = 1.0
    return nn.functional.binary_cross_entropy(p, y)


class MultiCsrLoss(nn.Module):
    def __init__(
        self, model: Any, reference: FrozenEncoder, scale: float = 20.0, phi: float = 0.95, variant: str = "infonce"
    ) -> None:
        super().__init__()
        self.model, self.scale, self.phi, self.variant = model, scale, phi, variant
        self.reference = reference  # a plain object, not a submodule: not trained, not saved

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None) -> Tensor:
        feats = list(sentence_features)
        embs = embed(self.model, feats)
        a, cands = embs[0], torch.cat(embs[1:], dim=0)
        z = cos_logits(a, cands, self.scale)
        ref = [self.reference.embed(f).to(a.device) for f in feats]
        keep = false_negative_mask(ref[0], torch.cat(ref[1:], dim=0), self.phi)
        return multicsr_loss(z, keep, self.variant)

    def get_config_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "phi": self.phi, "variant": self.variant}

    @property
    def citation(self) -> str:
        return CITATION


def build(model: Any, spec: MultiCsrSpec) -> nn.Module:
    return MultiCsrLoss(model, FrozenEncoder(model, spec.reference), spec.scale, spec.phi, spec.variant)


def columns(spec: MultiCsrSpec) -> list[str]:
    return ["anchor", "positive", "negative"] if spec.use_hard_negative else ["anchor", "positive"]


def extract(rows: list[dict[str, Any]], spec: MultiCsrSpec) -> dict[str, list]:
    return columns_from_fields(rows, spec, {c: c for c in columns(spec)})
