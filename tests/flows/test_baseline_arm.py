"""`[train] baseline = "simcse_unsup"`: the train flow also trains unsupervised SimCSE on the same base and the
dataset's distinct anchors, and the evaluate flow reports it beside the trained model (real Prefect runs)."""

from __future__ import annotations

import json

import pytest

from flows.planning import make_plan
from flows.recipe import recipe_from_dict
from flows.train import evaluate, train
from pipelines.dataset import read_dataset_rows
from tests.trainers.test_training import write_dataset


@pytest.mark.slow
def test_unsup_simcse_arm_trained_and_reported_beside_the_model(tmp_path):
    write_dataset(tmp_path / "run" / "dataset")
    recipe = recipe_from_dict(
        {
            "name": "baseline",
            "output_dir": str(tmp_path / "run"),
            "sampling": {"max_tokens": 8},
            "train": {
                "base_model": "embedded:all-minilm-l6-v2",
                "batch_size": 4,
                "max_seq_length": 16,
                "max_steps": 1,
                "baseline": "simcse_unsup",
            },
            "evaluate": {"sets": ["stsb-dev"], "max_pairs": 20},
        }
    )
    make_plan(recipe)  # a planned run, as `synth generate` leaves it, whose dataset was written by hand
    train(recipe)
    run = tmp_path / "run"
    ref = json.loads((run / "model-unsup-simcse" / "training.json").read_text())
    anchors = {r["anchor"] for r in read_dataset_rows(run / "dataset")}
    assert ref["train_rows"] == len(anchors) and ref["steps"] == 1 and ref["device"] == "cpu"
    assert (run / "model" / "modules.json").exists()
    evaluate(recipe)
    report = json.loads((run / "eval" / "report.json").read_text())["scores"]  # models x sets (issue 14's layout)
    assert list(report) == ["base (embedded:all-minilm-l6-v2)", "trained", "unsup SimCSE (same base, same sentences)"]
    assert all(isinstance(r["stsb-dev"], float) for r in report.values())
    assert "unsup SimCSE (same base, same sentences)" in (run / "eval" / "report.md").read_text()
