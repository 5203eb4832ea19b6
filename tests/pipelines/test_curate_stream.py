"""Curate over Arrow batches gives the decisions of the whole-list curate: the same kept/rejected rows with
the same reasons (duplicates across batches and shards included), the judge's rows joined by id, and the
dataset written in size-bounded files as it goes."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from filtering_helpers import rec, write_shard

from pipelines.curate import apply_filters, load_rows
from pipelines.curate_stream import curate_stream
from pipelines.dataset import read_dataset_rows, write_dataset
from pipelines.filters import build_filter
from pipelines.filters.decontam import DecontamSpec
from pipelines.filters.dedup import DedupSpec
from pipelines.filters.evalsets import stsb_sentences
from pipelines.filters.rules import RulesSpec

A = "A man in a blue shirt is standing in front of a garage."
P = "A man wearing a blue shirt stands before a garage."
N = "A woman in a red dress sits inside the garage."


def _records():
    stsb = stsb_sentences("test")[7]
    shard0 = [
        rec(A, P, N, seed=1),
        rec("Two dogs run on a beach.", "Dogs are running on sand.", "A cat sleeps.", seed=2),
        rec("A child eats an apple.", "A kid is eating some fruit.", "As an AI I cannot do that.", seed=3),
    ]
    shard1 = [
        rec(A, P.lower(), N, seed=4),  # exact duplicate of shard 0, another batch
        rec(A, P + " today", N, seed=5),  # near duplicate
        rec("The chef cuts onions in the kitchen.", "A cook slices onions.", stsb, seed=6),  # contaminated
        rec("The chef cuts onions in the kitchen.", "A cook slices onions.", "A boy swims.", seed=7),
    ]
    shard2 = [
        rec("The chef cuts onions in the kitchen.", "A cook slices onions!", "A boy swims.", seed=8),
        rec("Old men play chess in a park.", "Elderly men are playing chess outdoors.", "Kids play tag.", seed=9),
    ]
    return [shard0, shard1, shard2]


def _filters():
    return [build_filter(RulesSpec()), build_filter(DedupSpec(near_threshold=0.8)), build_filter(DecontamSpec())]


def test_batches_give_the_decisions_of_the_whole_list_curate(tmp_path):
    gen, judge = tmp_path / "generated" / "pairs", tmp_path / "generated" / "judge"
    shards = [write_shard(gen, i, recs) for i, recs in enumerate(_records())]
    scored = [
        rec(A, P, N, seed=1, positive_score=4.5),
        rec(
            "Old men play chess in a park.",
            "Elderly men are playing chess outdoors.",
            "Kids play tag.",
            seed=9,
            positive_score=1.0,
        ),
    ]
    judged = [write_shard(judge, 0, scored)]

    rows = load_rows(shards + judged)  # the whole-list path: every row in memory
    stats = apply_filters(rows, _filters())
    write_dataset(rows, stats, tmp_path / "whole")
    summary, _ = curate_stream(
        shards, _filters(), tmp_path / "stream", annotations=judged, batch_rows=2, rows_per_file=3
    )

    def decisions(d):
        out = read_dataset_rows(d, "data") + read_dataset_rows(d, "rejects")
        return sorted((r["id"], r["kept"], r["reason"], r["positive_score"]) for r in out)

    whole, stream = decisions(tmp_path / "whole"), decisions(tmp_path / "stream")
    assert stream == whole
    assert sum(not kept for _, kept, _, _ in stream) == 5  # refusal, exact, near, contaminated, near (shard 2)
    assert {s for _, _, _, s in stream} >= {4.5, 1.0}  # the judge's rows replaced the generated ones
    want = json.loads((tmp_path / "whole" / "stats.json").read_text())
    for s in want["filters"] + summary["filters"]:
        s.pop("seconds")
    assert summary == want
    files = sorted(p.name for p in (tmp_path / "stream" / "data").glob("*.parquet"))
    assert files == ["train-00000-of-00002.parquet", "train-00001-of-00002.parquet"]  # 4 kept rows, 3 per file
    assert [pq.read_metadata(tmp_path / "stream" / "data" / f).num_rows for f in files] == [3, 1]
    assert not list((tmp_path / "stream").rglob(".tmp-*"))
