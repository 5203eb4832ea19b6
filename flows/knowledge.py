"""Knowledge-graph wiring: build the graph (a Prefect task) before generation and plan the graph-using
tasks with its path and key in their `extras`. Logic lives in pipelines.knowledge_graph."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from prefect import get_run_logger, task

from flows.recipe import Recipe
from pipelines.knowledge_graph import build_knowledge_graph
from pipelines.plan import plan_jobs
from pipelines.stage import ShardJob
from synth.backends import BackendSpec
from synth.backends.base import Sampling
from synth.kg.extract import KnowledgeGraphSpec
from synth.tasks import TaskSpec


def uses_graph(task_spec: TaskSpec) -> bool:
    return bool(getattr(task_spec, "uses_graph", False))


@task(name="build-knowledge-graph")
def knowledge_graph(recipe: Recipe, anchor_shards: list[str]) -> dict[str, str]:
    spec = recipe.knowledge_graph or KnowledgeGraphSpec()
    art = build_knowledge_graph([Path(p) for p in anchor_shards], spec, recipe.generator, recipe.seed,
                                recipe.run_dir / "kg")
    s = art.summary
    get_run_logger().info("knowledge graph (%s): %d nodes, %d edges, %d anchors -> %s", spec.extractor, s["nodes"],
                          s["edges"], s["anchors"], art.graph_path)
    return art.extras()


def plan_with_graph(recipe: Recipe, anchor_shards: Sequence[Path], tasks: Sequence[TaskSpec], backend: BackendSpec,
                    sampling: Sampling, seed: int, recipe_hash: str, generated_dir: Path) -> list[ShardJob]:
    """plan_jobs, with the graph built first when a task uses it (or `[knowledge_graph]` asks for it)."""
    graph_tasks = [t for t in tasks if uses_graph(t)]
    jobs = plan_jobs(anchor_shards, [t for t in tasks if not uses_graph(t)], backend, sampling, seed, recipe_hash,
                     generated_dir)
    if graph_tasks or recipe.knowledge_graph is not None:
        extras = knowledge_graph(recipe, [str(p) for p in anchor_shards])
        jobs += plan_jobs(anchor_shards, graph_tasks, backend, sampling, seed, recipe_hash, generated_dir, extras=extras)
    return jobs
