"""A Python API for notebooks: load a recipe, override keys, run stages, get the paths back.

    from flows.api import load, run
    recipe = load("recipes/quickstart.toml", {"corpus.limit": 8, "train": None})
    out = run(recipe, "generate", "curate")   # {"generated": ..., "dataset": ...}

The same flows as the CLI, under the same one-writer guard and with flow runs named after the recipe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flows.env import configure_prefect, flow_run_name

configure_prefect()

from flows.recipe import Recipe, load_recipe  # noqa: E402  (after the Prefect settings)

STAGES = ("generate", "curate", "train", "evaluate")
OUTPUT = {"generate": "generated", "curate": "dataset", "train": "model", "evaluate": "report"}


def load(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Recipe:
    """A validated recipe; `overrides` maps dotted keys to values ({"corpus.limit": 8}); None drops a section."""
    return load_recipe(path, dict(overrides or {}))


def _flow(stage: str):
    if stage == "generate":
        from flows.synthesize import synthesize

        return synthesize
    if stage == "curate":
        from flows.curate import curate

        return curate
    if stage == "train":
        from flows.train import train

        return train
    from flows.train import evaluate

    return evaluate


def run(recipe: Recipe, *stages: str) -> dict[str, Path]:
    """Run the named stages in order (default: all four); returns {output: path} (generated, dataset, model,
    report), like `synth run` prints."""
    from flows.planning import guarded

    chosen = stages or STAGES
    unknown = [s for s in chosen if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; allowed: {list(STAGES)}")
    out: dict[str, Path] = {}
    with guarded(recipe, "api " + " ".join(chosen)):
        for stage in chosen:
            fn = _flow(stage)
            out[OUTPUT[stage]] = Path(fn.with_options(flow_run_name=flow_run_name(recipe.name, fn.name))(recipe))
    return out
