"""Monotonicity of ranked paraphrase lists (RankGen, He et al., Findings ACL 2025, assumes generation order
= similarity order; this checks it).

For every record with a `ranked` list its annotate step (`MonotoneAnnotator`) writes typed columns:
- `ranked_monotone_encoder`: true if cos(anchor, step_i) never increases by more than `tolerance` along the
  list (frozen reference encoder), else false; `ranked_order_encoder`: the fraction of adjacent steps in order;
- `ranked_monotone_judge` / `ranked_order_judge`: the same over the judge's `ranked:<i>` scores, when every
  member has one.
It rejects only when told to (`reject_encoder` / `reject_judge`); records without a list are kept untouched.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Sequence

import numpy as np
from pydantic import Field

from pipelines.filters.base import Columns, FilterSpec, empty_columns
from pipelines.progress import encode
from synth.records import Record


class MonotoneSpec(FilterSpec):
    name: Literal["monotone"] = "monotone"
    encoder: str = Field("embedded:all-minilm-l6-v2", description="frozen reference encoder")
    tolerance: float = Field(0.0, ge=0, description="an increase up to this still counts as monotone")
    judge_tolerance: float = Field(0.0, ge=0, description="the same for judge scores (on the judge's scale)")
    reject_encoder: bool = Field(False, description="reject lists the encoder finds non-monotone")
    reject_judge: bool = Field(False, description="reject lists the judge finds non-monotone")
    batch_size: int = Field(64, ge=1)


def monotone(values: Sequence[float], tolerance: float = 0.0) -> tuple[bool, float]:
    """(non-increasing within tolerance, fraction of adjacent pairs that are)."""
    steps = [b <= a + tolerance for a, b in zip(values, values[1:])]
    return all(steps), (sum(steps) / len(steps) if steps else 1.0)


def judge_values(r: Record) -> list[float] | None:
    """The judge's score of each list member in rank order, or None if any is missing."""
    by_target = {s.target: (s.expected if s.expected is not None else s.parsed) for s in r.scores}
    vals = [by_target.get(f"ranked:{i}") for i in range(len(r.ranked or []))]
    return None if not vals or any(v is None for v in vals) else [float(v) for v in vals]


class MonotoneAnnotator:
    """The monotone filter's annotate step: the ranked_* columns of every record with a list."""

    name: ClassVar[str] = "monotone"

    def __init__(self, spec: MonotoneSpec, encoder: Any | None = None):
        self.spec = spec
        self._encoder = encoder

    def _cosines(self, lists: list[Record]) -> list[list[float]]:
        if not lists:
            return []
        if self._encoder is None:
            from pipelines.filters.consistency import load_encoder

            self._encoder = load_encoder(self.spec.encoder)
        texts = sorted({t for r in lists for t in [r.anchor, *r.ranked]})
        emb = encode(
            self._encoder,
            texts,
            label="monotone filter: encode",
            batch_size=self.spec.batch_size,
            normalize_embeddings=True,
        )
        index = {t: i for i, t in enumerate(texts)}
        out = []
        for r in lists:
            a = emb[index[r.anchor]]
            out.append([float(np.dot(a, emb[index[t]])) for t in r.ranked])
        return out

    def annotate(self, records: Sequence[Record], columns: Columns) -> list[Record]:
        at = [i for i, r in enumerate(records) if r.ranked]
        for i, cos in zip(at, self._cosines([records[i] for i in at])):
            ok, frac = monotone(cos, self.spec.tolerance)
            columns["ranked_monotone_encoder"][i], columns["ranked_order_encoder"][i] = ok, frac
            vals = judge_values(records[i])
            if vals is not None:
                ok_j, frac_j = monotone(vals, self.spec.judge_tolerance)
                columns["ranked_monotone_judge"][i], columns["ranked_order_judge"][i] = ok_j, frac_j
        return list(records)


class MonotoneFilter:
    name: ClassVar[str] = "monotone"

    def __init__(self, spec: MonotoneSpec, encoder: Any | None = None):
        self.spec = spec
        self.annotator = MonotoneAnnotator(spec, encoder)

    def verdicts(self, records: Sequence[Record], columns: Columns | None = None) -> list[str | None]:
        """Verdicts from the ranked_* columns (annotated here first when not given)."""
        if columns is None:
            columns = empty_columns(len(records))
            records = self.annotator.annotate(records, columns)
        out: list[str | None] = []
        for r, enc, judge in zip(records, columns["ranked_monotone_encoder"], columns["ranked_monotone_judge"]):
            why = None
            if r.ranked and self.spec.reject_encoder and enc is False:
                why = "not_monotone_encoder"
            elif r.ranked and self.spec.reject_judge and judge is False:
                why = "not_monotone_judge"
            out.append(why)
        return out
