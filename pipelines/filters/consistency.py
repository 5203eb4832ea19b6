"""Reference-encoder consistency (GCSE denoising, Lai et al., ACL 2025, pipeline step 9).

A frozen sentence encoder scores each pair: keep when cos(anchor, positive) >= min_positive_cos,
cos(anchor, negative) < max_negative_cos (GCSE: 0.80 and 0.75, i.e. logits 16 and 15 at tau 0.05) and
cos(anchor, positive) > cos(anchor, negative) + margin. Unique sentences are encoded once per call, in
batches, by the filter's annotate step (`CosineAnnotator`), into typed columns `cos_pos`, `cos_neg` with a key over
(encoder, anchor, sentence) (`cos_pos_key`, `cos_neg_key`), so the report can plot them and re-filtering with new
thresholds reuses them without loading the encoder. The filter itself only reads the columns.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any, ClassVar, Literal, Sequence

import numpy as np
from pydantic import Field

from pipelines.filters.base import Columns, FilterSpec, empty_columns
from pipelines.progress import encode
from synth.records import Record


class ConsistencySpec(FilterSpec):
    name: Literal["consistency"] = "consistency"
    encoder: str = Field("embedded:all-minilm-l6-v2", description="frozen reference encoder: embedded:<name>, path")
    min_positive_cos: float | None = Field(0.80, ge=-1, le=1, description="keep when cos(a,p) >= this")
    max_negative_cos: float | None = Field(0.75, ge=-1, le=1, description="keep when cos(a,n) < this")
    margin: float | None = Field(0.0, ge=-2, le=2, description="keep when cos(a,p) > cos(a,n) + margin")
    batch_size: int = Field(64, ge=1)
    reuse_stored: bool = Field(True, description="reuse cosines stored by an earlier run for the same texts")
    on_fail: Literal["reject", "reselect"] = Field(
        "reject",
        description="reselect: GCSE's denoising (pipelines.filters.reselect) re-forms a failing pair "
        "(positive = anchor, negative = the anchor `reselect_shift` rows on) instead",
    )
    reselect_shift: int = Field(6, ge=1, description="reselect: rows to the fallback negative's anchor (GCSE: 6)")
    reemit_unused: bool = Field(True, description="reselect: unused candidates become (c, c, negative) pairs")


def cos_key(encoder: str, anchor: str, text: str) -> float:
    """A 52-bit fingerprint (exact in a float64 check) of what a stored cosine was computed from."""
    digest = hashlib.sha256(f"{encoder}\x1f{anchor}\x1f{text}".encode("utf-8")).hexdigest()
    return float(int(digest[:13], 16))


@lru_cache(maxsize=2)
def load_encoder(name: str) -> Any:
    """The frozen encoder, loaded once per process (CPU; sentence-transformers)."""
    from sentence_transformers import SentenceTransformer

    from synth.embedded import resolve_encoder

    return SentenceTransformer(resolve_encoder(name), device="cpu")


class CosineAnnotator:
    """The consistency filter's annotate step: cosines for the records that lack a valid stored one, and with
    `on_fail = "reselect"` GCSE's re-formed pairs (copies) plus the re-emitted ones (`take_emitted`)."""

    name: ClassVar[str] = "consistency"

    def __init__(self, spec: ConsistencySpec, encoder: Any | None = None):
        self.spec = spec
        self._encoder = encoder  # tests may pass an already loaded model
        self._emitted: list[tuple[Record, Record, dict[str, Any]]] = []

    def _valid(self, cols: Columns, i: int, side: str, anchor: str, text: str) -> bool:
        return bool(
            self.spec.reuse_stored
            and cols[f"cos_{side}"][i] is not None
            and cols[f"cos_{side}_key"][i] == cos_key(self.spec.encoder, anchor, text)
        )

    def cosines(self, records: Sequence[Record], cols: Columns) -> None:
        """Fill cos_pos / cos_neg (and their keys) for every record that lacks a valid stored value."""
        todo: list[tuple[int, str, str]] = []
        for i, r in enumerate(records):
            for side, text in (("pos", r.positive), ("neg", r.negative)):
                if text is not None and not self._valid(cols, i, side, r.anchor, text):
                    todo.append((i, side, text))
        if not todo:
            return
        texts = sorted({t for _, _, t in todo} | {records[i].anchor for i, _, _ in todo})
        model = self._encoder or load_encoder(self.spec.encoder)
        emb = encode(
            model, texts, label="consistency filter: encode", batch_size=self.spec.batch_size, normalize_embeddings=True
        )
        row = {t: i for i, t in enumerate(texts)}
        a = emb[[row[records[i].anchor] for i, _, _ in todo]]
        b = emb[[row[t] for _, _, t in todo]]
        cos = np.sum(a * b, axis=1)
        for (i, side, text), c in zip(todo, cos):
            cols[f"cos_{side}"][i] = round(float(c), 6)
            cols[f"cos_{side}_key"][i] = cos_key(self.spec.encoder, records[i].anchor, text)

    def annotate(self, records: Sequence[Record], columns: Columns) -> list[Record]:
        self.cosines(records, columns)
        if self.spec.on_fail != "reselect":
            return list(records)
        from pipelines.filters.reselect import reselect

        s = self.spec
        out, emitted = reselect(
            records,
            columns["cos_pos"],
            columns["cos_neg"],
            s.min_positive_cos,
            s.max_negative_cos,
            s.reselect_shift,
            s.reemit_unused,
        )
        extra = {c: [None] * len(emitted) for c in columns}
        both = {c: columns[c] + extra[c] for c in columns}
        self.cosines(out + [r for _, r in emitted], both)  # the re-formed and re-emitted pairs
        for c in columns:
            columns[c][:] = both[c][: len(out)]
        self._emitted = [(p, r, {c: both[c][len(out) + k] for c in both}) for k, (p, r) in enumerate(emitted)]
        return out

    def take_emitted(self) -> list[tuple[Record, Record, dict[str, Any]]]:
        """(parent, new record, its annotation columns) re-emitted by the last `annotate` call (curate adds
        them as rows)."""
        out, self._emitted = self._emitted, []
        return out


class ConsistencyFilter:
    name: ClassVar[str] = "consistency"

    def __init__(self, spec: ConsistencySpec, encoder: Any | None = None):
        self.spec = spec
        self.annotator = CosineAnnotator(spec, encoder)

    def verdict(self, r: Record, cp: float | None, cn: float | None) -> str | None:
        s = self.spec
        if r.positive is not None and s.min_positive_cos is not None and cp < s.min_positive_cos:
            return "positive_too_far"
        if r.negative is not None and s.max_negative_cos is not None and cn >= s.max_negative_cos:
            return "negative_too_close"
        if (
            r.positive is not None and r.negative is not None and s.margin is not None and not cp - cn > s.margin + 1e-9
        ):  # tolerance: 0.8 - 0.7 must not pass margin 0.1
            return "margin"
        return None

    def verdicts(self, records: Sequence[Record], columns: Columns | None = None) -> list[str | None]:
        """Verdicts from the cosine columns (annotated here first, on copies, when not given)."""
        if columns is None:
            columns = empty_columns(len(records))
            records = self.annotator.annotate(records, columns)
            self.annotator.take_emitted()
        return [self.verdict(r, cp, cn) for r, cp, cn in zip(records, columns["cos_pos"], columns["cos_neg"])]
