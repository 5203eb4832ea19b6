"""@flow train and @flow evaluate: dataset -> fine-tuned encoder; base vs trained on STS."""

from __future__ import annotations

import json
import shutil

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows.artifacts import publish_link
from flows.env import recipe_run_name
from flows.planning import guarded
from flows.recipe import Recipe
from pipelines.rundir import launcher_rank
from pipelines.runplan import PLAN_FILE, RunPlan
from pipelines.swap import MANIFEST, staging_dir, swap_in
from trainers.eval_report import card_section, comparison_report
from trainers.evaluate import evaluate_sets, load_encoder
from trainers.train import train as train_model
from trainers.train import train_baseline

BASELINE_DIR = "model-unsup-simcse"  # [train] baseline = "simcse_unsup": the label-free arm beside the model


@task(name="train-encoder")
def train_encoder(recipe: Recipe, baseline: bool = False) -> dict:
    """Train into a staging dir and swap the finished model in: a kill mid-training leaves the previous model
    (or none), never a half-written one; the rerun restarts training from step 0."""
    fn, out = (train_baseline, BASELINE_DIR) if baseline else (train_model, "model")
    target = recipe.run_dir / out
    staged = staging_dir(target)
    try:
        res = fn(recipe.run_dir / "dataset", recipe.train, staged)
        info = {
            "model_dir": str(target),
            "train_rows": res.train_rows,
            "steps": res.steps,
            "seconds": round(res.seconds, 1),
            "loss": res.loss,
            "device": res.device,
            "precision": res.precision,
            "peak_memory_mib": res.peak_memory_mib,
            "world_size": res.world_size,
        }
        (staged / "training.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    if launcher_rank() != 0:  # under torchrun only rank 0 saves the model and swaps it in
        shutil.rmtree(staged, ignore_errors=True)
        return info
    swap_in(staged, target)
    if not baseline and (recipe.run_dir / PLAN_FILE).exists():
        plan = RunPlan.read(recipe.run_dir)
        if plan.has("train"):
            plan.resolve("train", [target / MANIFEST])
    return info


def gpu_free_mib() -> float | None:
    import torch

    return round(torch.cuda.mem_get_info()[0] / 2**20) if torch.cuda.is_available() else None


def release_generation_gpu() -> list[str]:
    """`synth run` generates and trains in one process: the cached in-process vLLM engine (or a transformers
    generator on CUDA) is shut down and its GPU memory returned before training starts; free memory is logged."""
    from synth.backends import release_accelerator_backends

    before = gpu_free_mib()
    released = release_accelerator_backends()
    if released:
        get_run_logger().info(
            "released generation backends %s before training: GPU free %s -> %s MiB", released, before, gpu_free_mib()
        )
    return released


@flow(name="train", flow_run_name=recipe_run_name("train"))
def train(recipe: Recipe) -> str:
    if recipe.train is None:
        raise ValueError("the recipe has no [train] section")
    with guarded(recipe, "train"):
        release_generation_gpu()
        info = train_encoder(recipe)
    publish_link(recipe.name, "model", info["model_dir"])
    get_run_logger().info(
        "trained on %d rows, %d steps, %.1fs -> %s",
        info["train_rows"],
        info["steps"],
        info["seconds"],
        info["model_dir"],
    )
    if recipe.train.baseline == "simcse_unsup":
        ref = train_encoder(recipe, baseline=True)
        get_run_logger().info(
            "unsup-SimCSE baseline: %d sentences, %d steps -> %s", ref["train_rows"], ref["steps"], ref["model_dir"]
        )
    return info["model_dir"]


@task(name="evaluate-encoder", task_run_name="evaluate-{label}")
def evaluate_encoder(label: str, model_path: str, recipe: Recipe) -> dict:
    device = recipe.train.device if recipe.train is not None else "auto"
    if label == "base" and recipe.train is not None:  # the base as training sees it: same pooler and layers
        t = recipe.train
        return evaluate_sets(
            load_encoder(model_path, t.pooler, t.max_seq_length, t.base_layers, device), recipe.evaluate
        )
    return evaluate_sets(load_encoder(model_path, device=device), recipe.evaluate)


@task(name="model-card")
def model_card(recipe: Recipe) -> dict:
    """The trained model's card: sentence-transformers' card data, STS figures from its evaluators."""
    from trainers.model_card import write_model_card

    t = recipe.train
    return write_model_card(
        recipe.run_dir / "model",
        recipe.evaluate,
        base_model=t.base_model if t else "unknown",
        dataset_dir=recipe.run_dir / "dataset",
        dataset_name=f"{recipe.name} (contrastive-synth)",
        objectives=[o.name for o in t.objectives] if t else [],
    )


@flow(name="evaluate", flow_run_name=recipe_run_name("evaluate"))
def evaluate(recipe: Recipe, include_trained: bool = True) -> str:
    if recipe.evaluate is None:
        raise ValueError("the recipe has no [evaluate] section")
    base = recipe.train.base_model if recipe.train else "embedded:all-minilm-l6-v2"
    results = {f"base ({base})": evaluate_encoder("base", base, recipe)}
    model_dir = recipe.run_dir / "model"
    if include_trained and (model_dir / "modules.json").exists():
        results["trained"] = evaluate_encoder("trained", str(model_dir), recipe)
        model_card(recipe)  # README.md rewritten (ST card data + model-index) before card_section appends the report
    ref_dir = recipe.run_dir / BASELINE_DIR
    if recipe.train is not None and recipe.train.baseline and (ref_dir / "modules.json").exists():
        results["unsup SimCSE (same base, same sentences)"] = evaluate_encoder("unsup-simcse", str(ref_dir), recipe)
    js, md = comparison_report(results, recipe.run_dir / "eval")
    if "trained" in results:
        card_section(model_dir / "README.md", md.read_text(encoding="utf-8"))
    create_markdown_artifact(
        key=f"{recipe.name.lower().replace('_', '-').replace('.', '-')}-sts",
        markdown=md.read_text(encoding="utf-8"),
        description="evaluation, base vs trained",
    )
    get_run_logger().info("evaluation report: %s", md)
    return str(md)
