"""The leading per-row filters (rules) of batch n+1 run on a second core while batch n goes through dedup and the
writers; the decisions are those of the serial chain (pipelines/prefetch.py)."""

from __future__ import annotations

import os
from typing import ClassVar

from filtering_helpers import rec, write_shard

from pipelines.curate_stream import curate_stream
from pipelines.dataset import read_dataset_rows
from pipelines.filters import build_filter
from pipelines.filters.base import FilterSpec
from pipelines.filters.dedup import DedupSpec
from pipelines.filters.rules import RulesSpec


class WhereFilter:
    """Per-row: rejects anchors with 'cat' and says which process judged them."""

    name: ClassVar[str] = "where"
    per_row: ClassVar[bool] = True

    def __init__(self) -> None:
        self.spec = FilterSpec(name="where")

    def verdicts(self, records):
        return [f"pid{os.getpid()}" if "cat" in r.anchor else None for r in records]


ANCHORS = [
    "A cat sleeps on the sofa.",
    "A man rides a horse on the beach.",
    "A cat climbs a tall tree.",
    "Two dogs run across a snowy field.",
    "A man rides a horse on the beach.",
    "The cat drinks some milk.",
    "A chef slices fresh tomatoes.",
    "Children play football in the park.",
]


def _run(tmp_path, name, monkeypatch, workers: str):
    monkeypatch.setenv("CSYNTH_CURATE_WORKERS", workers)
    shards = [
        write_shard(
            tmp_path / name / "gen",
            0,
            [rec(a, f"{a[:-1]} today.", "Nobody is outside at all.", seed=i) for i, a in enumerate(ANCHORS)],
        )
    ]
    filters = [WhereFilter(), build_filter(RulesSpec()), build_filter(DedupSpec())]
    curate_stream(shards, filters, tmp_path / name / "out", batch_rows=2)
    out = read_dataset_rows(tmp_path / name / "out", "data") + read_dataset_rows(tmp_path / name / "out", "rejects")
    return sorted((r["anchor"], r["kept"], r["reason"]) for r in out)


def test_per_row_verdicts_of_later_batches_come_from_a_worker_with_the_serial_decisions(tmp_path, monkeypatch):
    parallel = _run(tmp_path, "parallel", monkeypatch, "1")
    serial = _run(tmp_path, "serial", monkeypatch, "0")
    me = f"where:pid{os.getpid()}"
    judged_by = {a: why for a, _, why in parallel if why and why.startswith("where:")}
    assert judged_by["A cat sleeps on the sofa."] == me  # batch 0: no worker for a single batch's worth
    assert judged_by["A cat climbs a tall tree."] != me and judged_by["The cat drinks some milk."] != me
    assert all(why == me for a, _, why in serial if why and why.startswith("where:"))
    strip = [(a, k, None if w and w.startswith("where:") else w) for a, k, w in parallel]
    assert strip == [(a, k, None if w and w.startswith("where:") else w) for a, k, w in serial]
    assert any(a.startswith("A man rides") and w and w.startswith("dedup:") for a, _, w in parallel)  # dedup ran
