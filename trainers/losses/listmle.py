"""Listwise ranking of a ranked paraphrase list against its anchor: ListMLE (Plackett-Luce), optional teacher.

For anchor i with list r_i1..r_iK (generation order = assumed decreasing similarity), s_ik = cos(h_i, h_ik)/tau:

    L = (1/N) sum_i sum_k [ log sum_{m >= k} e^{s_{i,pi(m)}} - s_{i,pi(k)} ]

pi is the generation order, or with a frozen teacher (RankGen) the order that sorts the corrected teacher
scores P = T + sign(B) * log(1 + omega * |B|), where T_k = cos_teacher(x_i, r_ik)/tau_teacher and
B = T' - T with T' the teacher scores sorted descending, i.e. the values T would take if similarity fell
with generation distance: the teacher's order, nudged towards the generation order. Ties are broken at random.
He et al., "Refining Sentence Embedding Model through Ranking Sentences Generation with Large Language
Models", Findings ACL 2025 (hly1998/RankingSentenceGeneration); Xia et al., "Listwise approach to learning
to rank" (ListMLE), ICML 2008. The released code ranks all 33x33 chain pairs with batch size 1; here each
anchor ranks its own list, rows batched.

| column | content |
|---|---|
| anchor | the list's source sentence x_0 |
| rank_0 .. rank_{K-1} | the first K list members in generation order (x_0 dropped if the list repeats it) |
"""

from __future__ import annotations

from typing import Any, Iterable, Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from trainers.losses.base import FrozenEncoder, LossSpec, task_rows
from trainers.losses.infonce import embed

CITATION = """@inproceedings{he2025rankgen, title={Refining Sentence Embedding Model through Ranking Sentences
  Generation with Large Language Models}, author={He, Liyang and others}, booktitle={Findings of ACL}, year={2025}}"""


class ListMLESpec(LossSpec):
    name: Literal["listmle"] = "listmle"
    scale: float = Field(20.0, gt=0)
    list_size: int = Field(5, ge=2, description="K: the first K members of each ranked list (shorter lists skipped)")
    teacher: str | None = Field(None, description="frozen teacher encoder (RankGen); None: generation order")
    teacher_scale: float = Field(20.0, gt=0, description="1/tau of the teacher's scores")
    omega: float = Field(0.5, ge=0, description="strength of the generation-order correction of the teacher")


def list_mle(scores: Tensor, order: Tensor) -> Tensor:
    """Plackett-Luce negative log-likelihood of `order` (indices, best first) per row, averaged over rows."""
    s = scores.gather(1, order)
    tail_lse = torch.logcumsumexp(s.flip(1), dim=1).flip(1)  # log sum_{m >= k} e^{s_m}
    return (tail_lse - s).sum(dim=1).mean()


def teacher_order(t: Tensor, omega: float) -> Tensor:
    """RankGen's target order from teacher scores t [N, K] given in generation order."""
    t_sorted = t.sort(dim=1, descending=True).values
    b = t_sorted - t
    p = t + torch.sign(b) * torch.log1p(omega * b.abs())
    noise = torch.rand_like(p) * 1e-6  # random tie-breaking
    return (p + noise).argsort(dim=1, descending=True)


class ListMLELoss(nn.Module):
    def __init__(
        self,
        model: Any,
        scale: float = 20.0,
        teacher: FrozenEncoder | None = None,
        teacher_scale: float = 20.0,
        omega: float = 0.5,
    ) -> None:
        super().__init__()
        self.model, self.scale, self.teacher_scale, self.omega = model, scale, teacher_scale, omega
        self.teacher = teacher  # plain object, never saved with the model

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None) -> Tensor:
        feats = list(sentence_features)
        embs = embed(self.model, feats)
        a, members = embs[0], torch.stack(embs[1:], dim=1)  # [N, D], [N, K, D]
        s = self.scale * nn.functional.cosine_similarity(a.unsqueeze(1), members, dim=-1)
        if self.teacher is None:
            order = torch.arange(s.size(1), device=s.device).expand_as(s)
        else:
            ta = self.teacher.embed(feats[0])
            tm = torch.stack([self.teacher.embed(f) for f in feats[1:]], dim=1)
            t = self.teacher_scale * nn.functional.cosine_similarity(ta.unsqueeze(1), tm, dim=-1)
            order = teacher_order(t.to(s.device), self.omega)
        return list_mle(s, order)

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "teacher_scale": self.teacher_scale,
            "omega": self.omega,
            "teacher": self.teacher is not None,
        }

    @property
    def citation(self) -> str:
        return CITATION


def build(model: Any, spec: ListMLESpec) -> nn.Module:
    teacher = FrozenEncoder(model, spec.teacher) if spec.teacher else None
    return ListMLELoss(model, spec.scale, teacher, spec.teacher_scale, spec.omega)


def columns(spec: ListMLESpec) -> list[str]:
    return ["anchor"] + [f"rank_{k}" for k in range(spec.list_size)]


def extract(rows: list[dict[str, Any]], spec: ListMLESpec) -> dict[str, list]:
    out: dict[str, list] = {c: [] for c in columns(spec)}
    for r in task_rows(rows, spec):
        ranked = [x for x in (r.get("ranked") or []) if x]
        if ranked and r.get("anchor") and ranked[0] == r["anchor"]:
            ranked = ranked[1:]
        if not r.get("anchor") or len(ranked) < spec.list_size:
            continue
        out["anchor"].append(r["anchor"])
        for k in range(spec.list_size):
            out[f"rank_{k}"].append(ranked[k])
    return out
