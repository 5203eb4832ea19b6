"""Existing labelled / paired data as input (issue 15 item 1): NLI, SimCSE CSV, mapped columns, then the real
judge and filters over the rows through the Prefect flows (CLHAIF soft labels, MultiCSR refinement)."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.recipe import load_recipe
from pipelines.corpus import CorpusError, read_corpus


def test_nli_sample_becomes_triplets_and_neutral_pairs_with_lines():
    c = read_corpus("builtin:snli-nli-sample", kind="nli")
    assert len(c.anchors) == 16 and c.rejects == []
    first = c.anchors[0]
    assert first.text == "Two women are embracing while holding to go packages." and first.line == 1
    given = json.loads(first.given)
    # line 2 entailment + line 3 contradiction = one SimCSE triplet; line 1 neutral = a pair to score
    assert given == [
        {
            "positive": "Two woman are holding packages.",
            "negative": "The men are fighting outside a deli.",
            "lines": [2, 3],
        },
        {
            "text_b": "The sisters are hugging goodbye while holding to go packages after just eating lunch.",
            "lines": [1],
            "label": "neutral",
        },
    ]
    rows = sum(len(json.loads(a.given)) for a in c.anchors)
    lines = sorted(ln for a in c.anchors for item in json.loads(a.given) for ln in item["lines"])
    assert lines == list(range(1, 49)) and rows >= 16  # every one of the 48 labelled lines lands in one row


def test_simcse_csv_and_bad_rows_are_recorded(tmp_path):
    f = tmp_path / "nli_for_simcse.csv"
    f.write_text(
        "sent0,sent1,hard_neg\n"
        "A man is playing a guitar on stage.,A man performs music.,Nobody is playing anything.\n"
        ",missing anchor,x\n"
        "A dog runs across the green field.,A dog is running.,\n",
        encoding="utf-8",
    )
    c = read_corpus(str(f), kind="simcse")
    assert [(r.line, r.reason) for r in c.rejects] == [(3, "missing_field")]
    assert [json.loads(a.given) for a in c.anchors] == [
        [{"positive": "A man performs music.", "negative": "Nobody is playing anything.", "lines": [2]}],
        [{"positive": "A dog is running.", "lines": [4]}],
    ]


def test_mapped_columns_from_parquet_and_a_clear_error(tmp_path):
    f = tmp_path / "pairs.parquet"
    pq.write_table(pa.table({"q": ["What is the capital of France?"], "d": ["Paris is the capital."], "s": [4.5]}), f)
    c = read_corpus(str(f), kind="columns", columns={"anchor": "q", "text_b": "d", "score": "s"})
    assert json.loads(c.anchors[0].given) == [{"text_b": "Paris is the capital.", "score": 4.5, "lines": [1]}]
    with pytest.raises(CorpusError, match="corpus.columns"):
        read_corpus(str(f), kind="columns", columns={"positive": "d"})


@pytest.mark.slow
def test_refine_nli_recipe_scores_and_refines_the_shipped_sample(tmp_path, smollm):
    """recipes/refine-nli.toml on 2 premises: the real judge scores each given row, thresholds refine them."""
    from flows.curate import curate
    from flows.synthesize import synthesize
    from pipelines.dataset import read_dataset_rows

    recipe = load_recipe(
        "recipes/refine-nli.toml", [f"output_dir={json.dumps(str(tmp_path / 'run'))}", "corpus.limit=2"]
    )
    synthesize(recipe)
    curate(recipe)
    rows = read_dataset_rows(tmp_path / "run" / "dataset") + read_dataset_rows(tmp_path / "run" / "dataset", "rejects")
    existing = [r for r in rows if r["task"] == "existing"]
    assert len(existing) == 4  # 2 premises x (1 triplet + 1 neutral pair)
    triplet = next(r for r in existing if "given:builtin:snli-nli-sample:2" in r["provenance"]["prompt_ids"])
    srcs = sorted(triplet["provenance"]["prompt_ids"])
    assert srcs == ["given:builtin:snli-nli-sample:2", "given:builtin:snli-nli-sample:3"]
    scores = [s for r in existing for s in r["scores"]]
    assert len(scores) == 6 and all(s["model"] == "embedded:smollm2-135m-instruct" for s in scores)
    assert any(s["expected"] is not None for s in scores)  # CLHAIF soft labels from score-token probabilities
    stages = {v["stage"] for r in existing for v in r["verdicts"]}
    assert "thresholds" in stages  # MultiCSR's refinement ran over the existing rows


def test_existing_rows_load_no_model_and_name_their_source_not_a_generator(tmp_path):
    """The `existing` task generates nothing: its shard is written without building the generator backend (a
    model that cannot load must not matter) and the rows' provenance names the corpus, not a model."""
    from pipelines.stage import ShardJob, run_shard
    from synth.backends import TransformersSpec
    from synth.backends.base import Sampling
    from synth.tasks.existing import ExistingSpec

    anchors = tuple(read_corpus("builtin:snli-nli-sample", kind="nli", limit=2).anchors)
    job = ShardJob(
        index=0,
        out_path=str(tmp_path / "existing-0000.parquet"),
        task=ExistingSpec(),
        backend=TransformersSpec(model=str(tmp_path / "no-such-model")),
        sampling=Sampling(max_tokens=8),
        seed=1,
        recipe_hash="r",
        anchors=anchors,
    )
    res = run_shard(job)
    rows = pq.read_table(res.path).to_pylist()
    assert res.records == len(rows) >= 2 and res.tokens == 0
    prov = rows[0]["provenance"]
    assert (prov["backend"], prov["model"], prov["model_hash"], prov["temperature"]) == ("given", None, None, None)
    assert prov["prompt_ids"] == ["given:builtin:snli-nli-sample:2", "given:builtin:snli-nli-sample:3"]


def test_an_edited_pair_file_rewrites_its_anchor_shard(tmp_path):
    """Same premises, an edited hard negative: the anchor shard (and so every task's key) must change, or the
    run would go on training on the old rows."""
    from pipelines.anchors import read_anchor_shard, write_anchor_shards

    f = tmp_path / "pairs.csv"
    f.write_text("sent0,sent1,hard_neg\nA man plays a guitar.,A man makes music.,A man sleeps.\n", encoding="utf-8")
    first = write_anchor_shards(read_corpus(str(f), kind="simcse").anchors, tmp_path / "anchors", 8)
    f.write_text("sent0,sent1,hard_neg\nA man plays a guitar.,A man makes music.,Nobody plays.\n", encoding="utf-8")
    second = write_anchor_shards(read_corpus(str(f), kind="simcse").anchors, tmp_path / "anchors", 8)
    assert first != second
    assert json.loads(read_anchor_shard(second[0])[0].given)[0]["negative"] == "Nobody plays."
    from pipelines.plan import plan_task_jobs
    from synth.backends import TransformersSpec
    from synth.backends.base import Sampling
    from synth.tasks.existing import ExistingSpec

    jobs = [
        plan_task_jobs(
            ExistingSpec(), shards, TransformersSpec(), Sampling(max_tokens=8), 1, "r", tmp_path / "generated"
        )[0]
        for shards in (first, second)
    ]
    assert jobs[0].out_path != jobs[1].out_path  # the existing task's records are keyed on the rows too
