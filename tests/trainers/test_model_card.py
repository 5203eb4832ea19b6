"""Issue 17: the trained model's card is sentence-transformers' own, with license, language, base model, the
training dataset and the final STS figures (from sentence-transformers' evaluator) in the Hub metadata."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_model_card_carries_license_base_dataset_and_final_sts_results(tmp_path):
    from huggingface_hub import ModelCard

    sys.path.insert(0, str(ROOT / "tests" / "pipelines"))
    from test_dataset_configs_fast import RECIPE, rows

    from pipelines.dataset import write_dataset
    from trainers.evaluate import EvalSpec, load_encoder
    from trainers.model_card import write_model_card

    ds = tmp_path / "dataset"
    write_dataset(rows(), [], ds, recipe_text=RECIPE)
    model_dir = tmp_path / "model"
    load_encoder("embedded:all-minilm-l6-v2").save(str(model_dir))  # stands in for a trained model
    results = write_model_card(
        model_dir,
        EvalSpec(sets=["stsb-dev"], max_pairs=40),
        base_model="embedded:all-minilm-l6-v2",
        dataset_dir=ds,
        dataset_name="fast-run",
        objectives=["infonce"],
    )
    card = ModelCard.load(model_dir / "README.md")
    assert card.data.license == "apache-2.0" and card.data.language == ["en"]
    assert card.data.base_model == "sentence-transformers/all-MiniLM-L6-v2"
    spearman = [r for r in card.data.eval_results if r.metric_type == "spearman_cosine"]
    assert len(spearman) == 1 and spearman[0].dataset_type == "stsb-dev"
    assert abs(spearman[0].metric_value * 100 - results["stsb-dev"]) < 1e-6 and results["stsb-dev"] > 50
    assert "fast-run" in card.text and "loss:infonce" in card.data.tags
