"""@flow end_to_end: synthesize -> curate -> train -> evaluate, each a subflow; writes run_summary.json."""

from __future__ import annotations

import json
import time

from prefect import flow, get_run_logger

from flows.curate import curate
from flows.env import recipe_run_name
from flows.planning import guarded
from flows.recipe import Recipe
from flows.synthesize import synthesize
from flows.train import evaluate, train
from pipelines.runplan import RunPlan
from pipelines.runstats import generation_stats


@flow(name="end-to-end", flow_run_name=recipe_run_name("end-to-end"))
def end_to_end(recipe: Recipe) -> dict[str, str]:
    with guarded(recipe, "end-to-end"):
        return _end_to_end(recipe)


def _end_to_end(recipe: Recipe) -> dict[str, str]:
    walls: dict[str, float] = {}

    def timed(stage: str, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        walls[stage] = round(time.perf_counter() - t0, 1)
        return out

    out = {"generated": timed("synthesize", synthesize, recipe), "dataset": timed("curate", curate, recipe)}
    if recipe.train is not None:
        out["model"] = timed("train", train, recipe)
    if recipe.evaluate is not None:
        out["report"] = timed("evaluate", evaluate, recipe)
    summary = {"wall_seconds": walls, "generation": generation_stats(RunPlan.read(recipe.run_dir).shard_paths())}
    for name in ("dataset/stats.json", "model/training.json", "eval/report.json"):  # training: device, peak memory
        path = recipe.run_dir / name
        if path.exists():
            summary[name.split("/")[0]] = json.loads(path.read_text(encoding="utf-8"))
    path = recipe.run_dir / "run_summary.json"
    path.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    get_run_logger().info("stage wall times (s): %s; generation: %s", walls, summary["generation"])
    out["summary"] = str(path)
    return out
