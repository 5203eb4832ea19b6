"""Teacher distillation: the student matches a frozen teacher encoder's similarities on the (synthetic) pairs.

`distill_mse` (pairwise MSE on cosine; DSE, Barkan et al., AAAI 2020, where a bi-encoder student reproduces its
teacher's pair scores):

    L = (1/M) sum_(a,b) ( cos(s_a, s_b) - cos(t_a, t_b) )^2

over the M pairs of the batch: (anchor_i, positive_i), and (anchor_i, negative_i) when hard negatives are used.
With `pairs = "in_batch"` the sum runs over every (anchor_i, candidate_j) of the batch (the N x N matrix per
candidate column), so the student also learns the teacher's scores of unrelated pairs; with pairs that all mean
the same or all differ, the diagonal alone gives nearly one target value.

`distill_kl` (KL over in-batch similarity distributions; Hinton et al., 2015, soft targets with temperature,
applied listwise over a batch's candidates as in RocketQAv2, Ren et al., EMNLP 2021):

    P_i = softmax_j( cos(t_ai, t_cj) / tau_t ),   Q_i = softmax_j( cos(s_ai, s_cj) / tau_s )
    L = (1/N) sum_i KL(P_i || Q_i) = (1/N) sum_i sum_j P_ij (log P_ij - log Q_ij)

where c runs over the batch's positives (then its hard negatives, when used). s = the trained student, t = the
teacher (a frozen `FrozenEncoder`: never trained, never saved; another vocabulary is re-tokenized).
A teacher trained on labelled data (all-MiniLM-L6-v2 was trained on 1B pairs including NLI) makes the student's
result "no new labels", not "no labels".

| column | content |
|---|---|
| anchor | sentence |
| positive | its positive (or any paired sentence) |
| negative | its hard negative (only with use_hard_negative) |
"""

from __future__ import annotations

from typing import Any, Iterable, Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from trainers.losses.base import FrozenEncoder, LossSpec, columns_from_fields, cos_logits
from trainers.losses.infonce import embed

CITATION = """@inproceedings{barkan2020dse, title={Scalable Attentive Sentence-Pair Modeling via Distilled Sentence
  Embedding}, author={Barkan, Oren and others}, booktitle={AAAI}, year={2020}}
@article{hinton2015distilling, title={Distilling the Knowledge in a Neural Network}, author={Hinton, Geoffrey and
  Vinyals, Oriol and Dean, Jeff}, journal={arXiv:1503.02531}, year={2015}}
@inproceedings{ren2021rocketqav2, title={RocketQAv2: A Joint Training Method for Dense Passage Retrieval and Passage
  Re-ranking}, author={Ren, Ruiyang and others}, booktitle={EMNLP}, year={2021}}"""


class DistillSpec(LossSpec):
    teacher: str = Field("embedded:all-minilm-l6-v2", description="frozen teacher encoder (id, path, embedded:)")
    use_hard_negative: bool = False


class DistillMSESpec(DistillSpec):
    name: Literal["distill_mse"] = "distill_mse"
    pairs: Literal["diagonal", "in_batch"] = Field(
        "diagonal", description="diagonal: each row's own pair; in_batch: every anchor with every candidate"
    )


class DistillKLSpec(DistillSpec):
    name: Literal["distill_kl"] = "distill_kl"
    student_scale: float = Field(20.0, gt=0, description="1 / tau_s")
    teacher_scale: float = Field(20.0, gt=0, description="1 / tau_t")


def pair_cos(a: Tensor, b: Tensor) -> Tensor:
    return nn.functional.cosine_similarity(a, b, dim=-1)


def distill_mse(student: list[Tensor], teacher: list[Tensor], in_batch: bool = False) -> Tensor:
    """Mean squared difference of cos(anchor, other) between student and teacher over every pair column (every
    anchor-candidate pair of the batch with `in_batch`)."""
    if in_batch:
        s = torch.cat([cos_logits(student[0], x, 1.0) for x in student[1:]], dim=1)
        t = torch.cat([cos_logits(teacher[0], x, 1.0) for x in teacher[1:]], dim=1)
    else:
        s = torch.cat([pair_cos(student[0], x) for x in student[1:]])
        t = torch.cat([pair_cos(teacher[0], x) for x in teacher[1:]])
    return ((s - t.to(s)) ** 2).mean()


def distill_kl(student: list[Tensor], teacher: list[Tensor], s_scale: float, t_scale: float) -> Tensor:
    """Mean over anchors of KL(teacher row distribution || student row distribution) over in-batch candidates."""
    zs = torch.cat([cos_logits(student[0], x, s_scale) for x in student[1:]], dim=1)
    zt = torch.cat([cos_logits(teacher[0], x, t_scale) for x in teacher[1:]], dim=1).to(zs)
    return nn.functional.kl_div(
        torch.log_softmax(zs, dim=1), torch.log_softmax(zt, dim=1), log_target=True, reduction="batchmean"
    )


class DistillLoss(nn.Module):
    def __init__(
        self,
        model: Any,
        teacher: Any,
        kind: str = "mse",
        student_scale: float = 20.0,
        teacher_scale: float = 20.0,
        in_batch: bool = False,
    ) -> None:
        super().__init__()
        self.model, self.kind, self.student_scale, self.teacher_scale = model, kind, student_scale, teacher_scale
        self.in_batch = in_batch
        self.__dict__["teacher"] = teacher  # plain attribute: not a submodule, not trained, not saved

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None = None) -> Tensor:
        feats = list(sentence_features)
        student = embed(self.model, feats)
        teacher = [self.teacher.embed(f).to(student[0].device) for f in feats]
        if self.kind == "mse":
            return distill_mse(student, teacher, self.in_batch)
        return distill_kl(student, teacher, self.student_scale, self.teacher_scale)

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "student_scale": self.student_scale,
            "teacher_scale": self.teacher_scale,
            "in_batch": self.in_batch,
        }

    @property
    def citation(self) -> str:
        return CITATION


def build(model: Any, spec: DistillSpec) -> nn.Module:
    scales = (spec.student_scale, spec.teacher_scale) if isinstance(spec, DistillKLSpec) else (20.0, 20.0)
    kind = "kl" if isinstance(spec, DistillKLSpec) else "mse"
    in_batch = isinstance(spec, DistillMSESpec) and spec.pairs == "in_batch"
    return DistillLoss(model, FrozenEncoder(model, spec.teacher), kind, *scales, in_batch=in_batch)


def columns(spec: DistillSpec) -> list[str]:
    return ["anchor", "positive", "negative"] if spec.use_hard_negative else ["anchor", "positive"]


def extract(rows: list[dict[str, Any]], spec: DistillSpec) -> dict[str, list]:
    return columns_from_fields(rows, spec, {c: c for c in columns(spec)})
