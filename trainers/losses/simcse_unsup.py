"""Unsupervised SimCSE: a sentence is its own positive through two dropout masks; other sentences are negatives.

    L = -(1/N) sum_i log( e^{cos(h_i, h_i')/tau} / sum_j e^{cos(h_i, h_j')/tau} )

h_i and h_i' are two forward passes of the same sentence in train mode (different dropout), N-1
in-batch negatives. Implemented as sentence-transformers' MultipleNegativesRankingLoss on
(sentence, sentence) rows: the candidate column is embedded in its own forward pass, hence its own dropout mask.
Under a data-parallel launcher the candidates of every process are gathered (N-1 negatives from the global batch).
The encoder must have dropout (BERT/RoBERTa do; for a decoder such as SmolLM2 set `encoder_dropout`).
Gao, Yao, Chen, "SimCSE: Simple Contrastive Learning of Sentence Embeddings", EMNLP 2021.

| column | content |
|---|---|
| anchor | a plain sentence (the distinct `anchor` values of the selected rows) |
| positive | the same sentence |
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from torch import nn

from trainers.losses.base import LossSpec, task_rows


class SimCSEUnsupSpec(LossSpec):
    name: Literal["simcse_unsup"] = "simcse_unsup"
    scale: float = Field(20.0, gt=0)


def build(model: Any, spec: SimCSEUnsupSpec) -> nn.Module:
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from trainers.losses.gather import gathering

    return MultipleNegativesRankingLoss(model, scale=spec.scale, gather_across_devices=gathering())


def columns(spec: SimCSEUnsupSpec) -> list[str]:
    return ["anchor", "positive"]


def sentence_columns(sentences: list[str]) -> dict[str, list[str]]:
    """Distinct non-empty sentences, first occurrence order, each paired with itself."""
    uniq = list(dict.fromkeys(s.strip() for s in sentences if s and s.strip()))
    return {"anchor": uniq, "positive": list(uniq)}


def extract(rows: list[dict[str, Any]], spec: SimCSEUnsupSpec) -> dict[str, list]:
    return sentence_columns([r["anchor"] for r in task_rows(rows, spec) if r.get("anchor")])
