"""@flow end_to_end: synthesize -> curate -> train -> evaluate, each a subflow."""
from __future__ import annotations

from prefect import flow

from flows.curate import curate
from flows.recipe import Recipe
from flows.synthesize import synthesize
from flows.train import evaluate, train


@flow(name="end-to-end")
def end_to_end(recipe: Recipe) -> dict[str, str]:
    out = {"generated": synthesize(recipe), "dataset": curate(recipe)}
    if recipe.train is not None:
        out["model"] = train(recipe)
    if recipe.evaluate is not None:
        out["report"] = evaluate(recipe)
    return out
