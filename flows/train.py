"""@flow train and @flow evaluate: dataset -> fine-tuned encoder; base vs trained on STS."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows.planning import guarded
from flows.recipe import Recipe
from pipelines.runplan import PLAN_FILE, RunPlan
from pipelines.swap import MANIFEST, staging_dir, swap_in
from trainers.eval_report import card_section, comparison_report
from trainers.evaluate import evaluate_sets, load_encoder
from trainers.train import train as train_model


@task(name="train-encoder")
def train_encoder(recipe: Recipe) -> dict:
    """Train into a staging dir and swap the finished model in: a kill mid-training leaves the previous model
    (or none), never a half-written one; the rerun restarts training from step 0."""
    target = recipe.run_dir / "model"
    staged = staging_dir(target)
    try:
        res = train_model(recipe.run_dir / "dataset", recipe.train, staged)
        info = {"model_dir": str(target), "train_rows": res.train_rows, "steps": res.steps,
                "seconds": round(res.seconds, 1), "loss": res.loss}
        (staged / "training.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    swap_in(staged, target)
    if (recipe.run_dir / PLAN_FILE).exists():
        plan = RunPlan.read(recipe.run_dir)
        if plan.has("train"):
            plan.resolve("train", [target / MANIFEST])
    return info


@flow(name="train")
def train(recipe: Recipe) -> str:
    if recipe.train is None:
        raise ValueError("the recipe has no [train] section")
    with guarded(recipe, "train"):
        info = train_encoder(recipe)
    get_run_logger().info("trained on %d rows, %d steps, %.1fs -> %s", info["train_rows"], info["steps"],
                          info["seconds"], info["model_dir"])
    return info["model_dir"]


@task(name="evaluate-encoder", task_run_name="evaluate-{label}")
def evaluate_encoder(label: str, model_path: str, recipe: Recipe) -> dict:
    if label == "base" and recipe.train is not None:  # the base as training sees it: same pooler and layers
        t = recipe.train
        return evaluate_sets(load_encoder(model_path, t.pooler, t.max_seq_length, t.base_layers), recipe.evaluate)
    return evaluate_sets(load_encoder(model_path), recipe.evaluate)


@task(name="model-card")
def model_card(recipe: Recipe) -> dict:
    """The trained model's card: sentence-transformers' card data, STS figures from its evaluators."""
    from trainers.model_card import write_model_card

    t = recipe.train
    return write_model_card(recipe.run_dir / "model", recipe.evaluate,
                            base_model=t.base_model if t else "unknown", dataset_dir=recipe.run_dir / "dataset",
                            dataset_name=f"{recipe.name} (contrastive-synth)",
                            objectives=[o.name for o in t.objectives] if t else [])


@flow(name="evaluate")
def evaluate(recipe: Recipe, include_trained: bool = True) -> str:
    if recipe.evaluate is None:
        raise ValueError("the recipe has no [evaluate] section")
    base = recipe.train.base_model if recipe.train else "embedded:all-minilm-l6-v2"
    results = {f"base ({base})": evaluate_encoder("base", base, recipe)}
    model_dir = recipe.run_dir / "model"
    if include_trained and (model_dir / "modules.json").exists():
        results["trained"] = evaluate_encoder("trained", str(model_dir), recipe)
        model_card(recipe)  # README.md rewritten (ST card data + model-index) before card_section appends the report
    js, md = comparison_report(results, recipe.run_dir / "eval")
    if "trained" in results:
        card_section(model_dir / "README.md", md.read_text(encoding="utf-8"))
    create_markdown_artifact(key=f"{recipe.name.lower().replace('_', '-').replace('.', '-')}-sts",
                             markdown=md.read_text(encoding="utf-8"), description="evaluation, base vs trained")
    get_run_logger().info("evaluation report: %s", md)
    return str(md)
