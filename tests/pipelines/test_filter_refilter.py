"""Re-filtering an existing dataset with new thresholds: no generation, stored cosines reused."""

import json

import pyarrow.parquet as pq
import pytest
from filtering_helpers import NoEncoder, VectorEncoder, rec, unit, write_shard

from pipelines.curate import apply_filters, load_rows
from pipelines.dataset import read_dataset_rows
from pipelines.filters.consistency import ConsistencyFilter, ConsistencySpec
from pipelines.filters.dedup import DedupFilter, DedupSpec
from pipelines.filters.thresholds import ThresholdsFilter, ThresholdsSpec
from pipelines.refilter import find_dataset_dir, load_for_refilter, rewrite_dataset, stored_rows, write_curated
from pipelines.shards import finished_shards

COS = [(0.95, 0.2), (0.85, 0.5), (0.75, 0.3), (0.9, 0.8)]


def make_run(tmp_path):
    """A run dir with one generated shard of 5 records (one duplicate, one with reversed judge scores)."""
    records, vectors = [], {}
    for i, (cp, cn) in enumerate(COS):
        a, p, n = f"anchor {i} about a park", f"positive {i} about a park", f"negative {i} about a kitchen"
        vectors.update({a: [1.0, 0.0], p: unit(cp), n: unit(cn)})
        scores = (1.0, 4.0) if i == 1 else (4.0, 1.0)  # record 1: the judge says its pair is reversed
        records.append(rec(a, p, n, seed=i, positive_score=scores[0], negative_score=scores[1]))
    records.append(
        rec(
            "anchor 0 about a park",
            "positive 0 about a park",
            "negative 0 about a kitchen",
            seed=9,
            positive_score=4.0,
            negative_score=1.0,
        )
    )
    write_shard(tmp_path / "run" / "generated" / "pairs", 0, records)
    return tmp_path / "run", vectors


def filters(vectors, encoder=None, **cons):
    return [
        DedupFilter(DedupSpec()),
        ThresholdsFilter(ThresholdsSpec()),
        ConsistencyFilter(ConsistencySpec(**cons), encoder=encoder or VectorEncoder(vectors)),
    ]


def first_run(tmp_path):
    run, vectors = make_run(tmp_path)
    rows = load_rows(finished_shards(run / "generated" / "pairs"))
    stats = apply_filters(rows, filters(vectors))
    write_curated(rows, stats, run / "dataset", recipe_name="t")
    return run, vectors, {r["provenance"]["seed"]: r for r in rows}


def test_first_run_verdicts(tmp_path):
    _, _, by_seed = first_run(tmp_path)
    assert by_seed[9]["reason"].startswith("dedup:exact_duplicate")
    assert by_seed[1]["kept"] is False and by_seed[1]["reason"] == "consistency:positive_too_far"  # swapped
    assert by_seed[1]["swapped"] is True  # a typed column (schema v2), no longer a float in checks
    assert by_seed[2]["reason"] == "consistency:positive_too_far"
    assert by_seed[3]["reason"] == "consistency:negative_too_close"
    assert by_seed[0]["kept"]


@pytest.mark.parametrize("from_generated", [True, False])
def test_refilter_with_new_thresholds_reuses_cosines(tmp_path, from_generated):
    run, vectors, _ = first_run(tmp_path)
    ds = find_dataset_dir(run)
    if not from_generated:  # a dataset copied away from its run: only data/ + rejects/ remain
        import shutil

        shutil.rmtree(run / "generated")
    rows = load_for_refilter(ds, finished_shards(run / "generated" / "pairs"))
    assert len(rows) == 5
    looser = filters(vectors, encoder=NoEncoder(), min_positive_cos=0.7, max_negative_cos=0.85)
    stats = apply_filters(rows, looser)  # NoEncoder: any encoding would fail the test
    rewrite_dataset(rows, stats, ds, recipe_name="t")
    kept = {r["provenance"]["seed"] for r in read_dataset_rows(ds, "data")}
    rejects = {r["provenance"]["seed"]: r["reason"] for r in read_dataset_rows(ds, "rejects")}
    assert kept == {0, 2, 3}
    assert rejects[9].startswith("dedup:exact_duplicate") and rejects[1] == "consistency:positive_too_far"
    assert json.loads((ds / "stats.json").read_text())["kept"] == 3
    assert (ds / "report.md").exists() and not list(ds.parent.glob(".tmp-*")) and not list(ds.parent.glob(".old-*"))


def test_stored_rows_undo_swaps_and_list_kept_rows_first(tmp_path):
    run, _, _ = first_run(tmp_path)
    rows = stored_rows(run / "dataset")
    r1 = next(r for r in rows if r["provenance"]["seed"] == 1)
    assert r1["positive"] == "positive 1 about a park" and r1["positive_score"] == 1.0
    assert [r["kept"] for r in rows] == sorted((r["kept"] for r in rows), reverse=True)
    assert (
        sum(
            pq.read_metadata(p).num_rows
            for split in ("data", "rejects")  # configs (issue 17) derive from data/
            for p in (run / "dataset" / split).glob("*.parquet")
        )
        == 5
    )
