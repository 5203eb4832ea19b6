"""Issue 17: a run's dataset directory loads per config with `datasets.load_dataset(<dir>, <config>)` and the
triplet config trains through `SentenceTransformerTrainer` + MultipleNegativesRankingLoss with no column juggling.
Real run: the embedded SmolLM2 writes pairs, ranked lists and judge scores for 3 SNLI premises (about 8 min on
the shared 2-core machine; the fast module covers the same contract in seconds)."""

from __future__ import annotations

import pytest

from flows.recipe import recipe_from_dict

COLUMNS = {
    "all": None,
    "triplet": ["anchor", "positive", "negative"],
    "pair": ["anchor", "positive"],
    "pair-score": ["sentence1", "sentence2", "score"],
    "pair-class": ["premise", "hypothesis", "label"],
    "ranked": ["anchor", "ranked"],
    "rejects": None,
}


@pytest.fixture(scope="module")
def run_dataset(tmp_path_factory):
    from flows.curate import curate
    from flows.synthesize import synthesize

    out = tmp_path_factory.mktemp("configs") / "run"
    recipe = recipe_from_dict(
        {
            "name": "configs",
            "seed": 13,
            "output_dir": str(out),
            "corpus": {"path": "builtin:snli-premises", "limit": 3, "shard_size": 3},
            "generator": {"backend": "transformers", "batch_size": 16},
            "sampling": {"max_tokens": 16, "temperature": 0.7},
            "tasks": [
                {"name": "pairs", "exemplars": 0},
                {"name": "ranked", "k": 3, "mode": "graded", "reject_newlines": False},
                {"name": "judge", "exemplars": 2, "random_pairs": 1, "on_unparsable": "keep"},
            ],
            "filters": [],
            "train": None,
            "evaluate": None,
        }
    )
    synthesize(recipe)
    curate(recipe)
    return out / "dataset"


@pytest.mark.slow
def test_every_config_of_a_real_run_loads_by_name_with_its_columns(run_dataset):
    import json

    from datasets import load_dataset
    from huggingface_hub import DatasetCard

    from pipelines.dataset import read_dataset_rows

    kept = read_dataset_rows(run_dataset)
    written = json.loads((run_dataset / "stats.json").read_text(encoding="utf-8"))["configs"]
    assert {"triplet", "pair", "pair-class"} <= set(written)  # the pairs task always yields these
    card = DatasetCard.load(run_dataset / "README.md")
    assert [c["config_name"] for c in card.data.configs] == ["all", *written, "rejects"]
    assert card.data.license == "cc-by-sa-4.0" and "HuggingFaceTB/SmolLM2-135M-Instruct" in card.data.models
    for name in ["all", *written, "rejects"]:
        ds = load_dataset(str(run_dataset), name, split="train")
        if COLUMNS[name]:
            assert ds.column_names == COLUMNS[name] and len(ds) == written[name]["rows"], name
    assert len(load_dataset(str(run_dataset), "all", split="train")) == len(kept)
    triplets = [r for r in kept if r["anchor"] and r["positive"] and r["negative"]]
    assert load_dataset(str(run_dataset), "triplet", split="train")[0] == {
        k: triplets[0][k] for k in ("anchor", "positive", "negative")
    }
    if "pair-score" in written:
        assert all(0 <= s <= 1 for s in load_dataset(str(run_dataset), "pair-score", split="train")["score"])
