"""The foundation's evidence: the real embedded LLM through the Prefect flow, to a loadable model."""

import pyarrow.parquet as pq
import pytest

from flows.recipe import load_recipe


@pytest.mark.slow
def test_end_to_end_on_the_embedded_models(tmp_path):
    from datasets import load_dataset
    from sentence_transformers import SentenceTransformer

    from flows.end_to_end import end_to_end
    from pipelines.schema import SCHEMA

    recipe = load_recipe(
        "recipes/quickstart.toml",
        {
            "output_dir": str(tmp_path / "run"),
            "corpus.limit": 8,
            "corpus.shard_size": 4,
            "train.max_steps": 2,
            "train.batch_size": 4,
            "evaluate.max_pairs": 100,
            # best-of-2 and the rule filters only: training needs >= 2 kept rows out of 8 anchors, every time
            "tasks": [{"name": "pairs", "exemplars": 3, "candidates": 2}],
            "filters": [{"name": "rules"}],
        },
    )
    out = end_to_end(recipe)
    run = tmp_path / "run"
    shards = sorted((run / "generated" / "pairs").glob("shard-*.parquet"))
    assert len(shards) == 2 and not list(run.rglob(".tmp-*"))
    for s in shards:
        assert pq.read_schema(s).equals(SCHEMA, check_metadata=False)
    kept = load_dataset("parquet", data_dir=str(run / "dataset" / "data"), split="train")
    rejects = load_dataset("parquet", data_dir=str(run / "dataset" / "rejects"), split="train")
    assert len(kept) + len(rejects) == 8
    assert all(r for r in rejects["reason"]) and all(k is False for k in rejects["kept"])
    assert all(
        p["model"] == "embedded:smollm2-135m-instruct" for p in list(kept["provenance"]) + list(rejects["provenance"])
    )
    assert (run / "dataset" / "README.md").read_text().count("## Filters") == 1
    model = SentenceTransformer(out["model"], device="cpu")
    assert model.encode(["a sentence"]).shape == (1, 384)
    report = (run / "eval" / "report.md").read_text()
    assert "trained" in report and "stsb-test" in report


@pytest.mark.slow
def test_rerun_skips_finished_shards(tmp_path, smollm):
    from flows.synthesize import synthesize

    recipe = load_recipe(
        "recipes/quickstart.toml", {"output_dir": str(tmp_path / "run"), "corpus.limit": 2, "corpus.shard_size": 2}
    )
    synthesize(recipe)
    shard = next((tmp_path / "run" / "generated" / "pairs").glob("shard-*.parquet"))
    before = (shard.stat().st_mtime_ns, pq.read_table(shard).column("id").to_pylist())
    synthesize(recipe)
    assert (shard.stat().st_mtime_ns, pq.read_table(shard).column("id").to_pylist()) == before
