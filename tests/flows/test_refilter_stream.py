"""`synth refilter` goes the one curate path (issue 13): its rows, from the run's planned shards or the dataset's
own files, reach the filters in Arrow batches of BATCH_ROWS, with the decisions of the whole-list path."""

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pipelines"))
from filtering_helpers import rec, write_shard  # noqa: E402

PAIRS = [
    (
        "A man is playing a guitar on the street.",
        "A man plays the guitar outdoors on a street.",
        "A chef slices onions in a busy kitchen.",
        (4.0, 1.0),
    ),
    (
        "Two dogs run along the beach at sunset.",
        "Two dogs are running on the sand in the evening.",
        "Two dogs run along the beach at sunset today.",
        (1.0, 4.0),
    ),  # reversed by the judge
    (
        "A child is eating an apple in the garden.",
        "A kid eats fruit outside in a garden.",
        "A woman reads a newspaper on a train.",
        (5.0, 2.0),
    ),
    (
        "An old woman knits a red scarf by the window.",
        "Someone is cooking pasta.",
        "A young man repairs a bicycle in the garage.",
        (4.0, 2.0),
    ),
]


def _recipe(run, min_pos):
    from flows.recipe import load_recipe

    return load_recipe(
        "recipes/quickstart.toml",
        {
            "output_dir": str(run),
            "name": "refilterstream",
            "filters": [
                {"name": "dedup"},
                {"name": "thresholds"},
                {"name": "consistency", "min_positive_cos": min_pos, "max_negative_cos": 0.9},
            ],
        },
    )


@pytest.mark.parametrize("from_generated", [True, False])
def test_refilter_streams_batches_with_the_whole_list_decisions(tmp_path, monkeypatch, from_generated):
    import pipelines.curate_stream as cs
    from flows.curate import curate, refilter
    from flows.planning import make_plan
    from pipelines.curate import apply_filters
    from pipelines.dataset import read_dataset_rows
    from pipelines.filters import build_filter
    from pipelines.refilter import load_for_refilter

    run = tmp_path / "run"
    records = [rec(a, p, n, seed=i, positive_score=s[0], negative_score=s[1]) for i, (a, p, n, s) in enumerate(PAIRS)]
    records.append(rec(*PAIRS[0][:3], seed=9, positive_score=4.0, negative_score=1.0))  # a duplicate
    write_shard(run / "generated" / "pairs", 0, records)
    recipe = _recipe(run, 0.8)
    plan = make_plan(recipe)
    plan.resolve("generate:pairs", sorted((run / "generated" / "pairs").glob("shard-*.parquet")))
    curate(recipe)
    ds = run / "dataset"
    if not from_generated:  # a run whose generated shards are gone: the dataset's own rows are the input
        shutil.rmtree(run / "generated")
    looser = _recipe(run, 0.5)
    whole = load_for_refilter(ds, [p for p in plan.shard_paths() if p.exists()])
    apply_filters(whole, [build_filter(f) for f in looser.filters])
    expected = {r["id"]: (r["reason"], r["positive"]) for r in whole}

    seen: list[int] = []
    batch = cs.filter_batch
    monkeypatch.setattr(cs, "filter_batch", lambda rows, *a, **k: (seen.append(len(rows)), batch(rows, *a, **k))[1])
    monkeypatch.setattr(cs, "BATCH_ROWS", 2)
    refilter(looser, str(run))
    assert seen == [2, 2, 1]  # 5 rows, batches of BATCH_ROWS through curate_stream's filter_batch
    got = {r["id"]: (r["reason"], r["positive"]) for r in read_dataset_rows(ds) + read_dataset_rows(ds, "rejects")}
    assert got == expected and len({r for r, _ in got.values()}) > 1
