"""Knowledge-graph wiring: the plan's knowledge_graph stage as a Prefect task. Logic lives in
pipelines.knowledge_graph; its path and key reach the graph-consuming tasks through their `extras`."""
from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task

from flows.recipe import Recipe
from pipelines.knowledge_graph import build_knowledge_graph
from synth.kg.extract import KnowledgeGraphSpec


@task(name="build-knowledge-graph")
def knowledge_graph(recipe: Recipe, anchor_shards: list[str]) -> dict[str, str]:
    spec = recipe.knowledge_graph or KnowledgeGraphSpec()
    art = build_knowledge_graph([Path(p) for p in anchor_shards], spec, recipe.generator, recipe.seed,
                                recipe.run_dir / "kg")
    s = art.summary
    get_run_logger().info("knowledge graph (%s): %d nodes, %d edges, %d anchors -> %s", spec.extractor, s["nodes"],
                          s["edges"], s["anchors"], art.graph_path)
    return art.extras()
