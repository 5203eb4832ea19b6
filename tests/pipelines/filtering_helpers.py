"""Shared helpers for the filter tests: records, shards on disk, and an encoder with chosen vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipelines.schema import record_to_row, rows_to_table
from pipelines.shards import shard_path, write_table_atomic
from synth.records import Record

PROV = {
    "backend": "scripted",
    "model": "test",
    "model_hash": "0",
    "temperature": 0.7,
    "top_p": 0.9,
    "max_tokens": 48,
    "recipe_hash": "r",
}


def rec(anchor: str, positive: str | None = None, negative: str | None = None, seed: int = 0, **kw) -> Record:
    return Record(
        task="pairs", anchor_id=anchor[:12], anchor=anchor, positive=positive, negative=negative, seed=seed, **kw
    )


def write_shard(directory: Path, index: int, records: list[Record]) -> Path:
    rows = [record_to_row(r, {**PROV, "shard": f"shard-{index:05d}"}) for r in records]
    return write_table_atomic(rows_to_table(rows), shard_path(directory, index, f"k{index}"))


class VectorEncoder:
    """Stands in for a sentence encoder where the test must control cosines exactly; records its calls."""

    def __init__(self, vectors: dict[str, list[float]]):
        self.vectors = vectors
        self.calls: list[list[str]] = []

    def encode(self, texts, **_):
        self.calls.append(list(texts))
        out = np.array([self.vectors[t] for t in texts], dtype=np.float64)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


class NoEncoder:
    def encode(self, texts, **_):
        raise AssertionError(f"the encoder should not run; asked for {len(texts)} texts")


def unit(cos: float) -> list[float]:
    """A 2-d unit vector whose cosine with [1, 0] is exactly `cos`."""
    return [cos, float(np.sqrt(1 - cos * cos))]


def annotated(flt, records):
    """A filter's annotate step then its verdicts, as curate runs them: (verdicts, typed columns, records judged)."""
    from pipelines.filters.base import empty_columns

    columns = empty_columns(len(records))
    judged = flt.annotator.annotate(records, columns)
    return flt.verdicts(judged, columns), columns, judged
