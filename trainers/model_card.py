"""The trained model's card, written with sentence-transformers' own card data: base model, license, language,
training dataset, objectives, and the final STS results computed by sentence-transformers'
`EmbeddingSimilarityEvaluator`, so they land in the card's `model-index` metadata the Hub reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from trainers.evaluate import EvalSpec, expand_sets, load_encoder, load_set
from trainers.sts_data import EvalDataError, MissingEvalSet, spread

HUB_IDS = {
    "embedded:all-minilm-l6-v2": ("sentence-transformers/all-MiniLM-L6-v2", "apache-2.0"),
    "embedded:smollm2-135m-instruct": ("HuggingFaceTB/SmolLM2-135M-Instruct", "apache-2.0"),
}


def sts_results(model: Any, spec: EvalSpec) -> dict[str, float | None]:
    """Spearman x100 of cosine per labelled-pair set, through sentence-transformers' evaluator (which also stores
    the metrics in `model.model_card_data`); a missing or unreadable set is None; retrieval and MTEB sets are
    left to the report (trainers.evaluate)."""
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    out: dict[str, float | None] = {}
    for name in expand_sets(spec.sets):
        if name.startswith("mteb:"):
            continue
        try:
            pairs = load_set(name, spec.data_dir)
        except (MissingEvalSet, EvalDataError):
            out[name] = None
            continue
        if spec.max_pairs:
            pairs = spread(pairs, spec.max_pairs)
        ev = EmbeddingSimilarityEvaluator(
            [p.s1 for p in pairs],
            [p.s2 for p in pairs],
            [p.score for p in pairs],
            name=name,
            batch_size=spec.batch_size,
            write_csv=False,
        )
        out[name] = float(ev(model)[f"{name}_spearman_cosine"]) * 100
    return out


def write_model_card(
    model_dir: Path,
    spec: EvalSpec,
    *,
    base_model: str,
    dataset_dir: Path,
    dataset_name: str,
    objectives: Sequence[str],
    dataset_id: str | None = None,
) -> dict[str, float | None]:
    """Evaluate the saved model with sentence-transformers' evaluators and rewrite its README.md card (only the
    card: the weights are not saved again, so custom poolers keep what they saved)."""
    from sentence_transformers.base.model_card import generate_model_card

    from pipelines.shards import write_text_atomic

    model = load_encoder(str(model_dir))
    base_id, base_license = HUB_IDS.get(base_model, (base_model, None))
    card = model.model_card_data
    card.local_files_only = True  # no Hub look-ups while writing the card
    card.generate_widget_examples = False
    card.language = ["en"]
    card.license = base_license or "unknown"
    card.model_name = f"{Path(base_id).name} fine-tuned by contrastive-synth on {dataset_name}"
    card.base_model = base_id  # set directly: set_base_model would ask the Hub
    meta = [{"name": dataset_name, **({"id": dataset_id} if dataset_id else {})}]
    config = next((c for c in ("triplet", "pair", "pair-score") if (Path(dataset_dir) / c).is_dir()), None)
    if config:  # size, columns and examples of the training data, as sentence-transformers' trainer records them
        from datasets import load_dataset

        meta = card.extract_dataset_metadata(load_dataset(str(dataset_dir), config, split="train"), meta, None, "train")
        card.train_datasets = meta  # the card template needs the columns; a dataset without configs goes unlisted
    card.tags = list(dict.fromkeys([*card.tags, "contrastive-synth", *(f"loss:{o}" for o in objectives)]))
    results = sts_results(model, spec)
    write_text_atomic(generate_model_card(model), Path(model_dir) / "README.md")
    return results
