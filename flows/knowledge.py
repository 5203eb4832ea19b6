"""Knowledge-graph wiring: the plan's knowledge_graph and extend stages as Prefect tasks. Logic lives in
pipelines.knowledge_graph and pipelines.kg_extension; the graph's path and key reach the graph-consuming tasks
through their `extras`, extension anchors reach generation beside the corpus anchors."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task

from flows.recipe import Recipe
from pipelines.kg_extension import extend_round
from pipelines.knowledge_graph import build_knowledge_graph
from synth.backends.base import Sampling
from synth.kg.extract import KnowledgeGraphSpec


@task(name="build-knowledge-graph")
def knowledge_graph(recipe: Recipe, anchor_shards: list[str], final: bool = True) -> dict[str, str]:
    """The graph over these anchor shards; `final=False` (before extension rounds) keeps the extension anchors'
    extraction shards, so that a rerun does not extract them again."""
    spec = recipe.knowledge_graph or KnowledgeGraphSpec()
    art = build_knowledge_graph(
        [Path(p) for p in anchor_shards], spec, recipe.generator, recipe.seed, recipe.run_dir / "kg", prune=final
    )
    s = art.summary
    get_run_logger().info(
        "knowledge graph (%s, %s): %d nodes, %d edges, %d anchors -> %s",
        spec.extractor,
        spec.graph,
        s["nodes"],
        s["edges"],
        s["anchors"],
        art.graph_path,
    )
    return art.extras()


@task(name="extension-round", task_run_name="extension-round-{round_}")
def extension_round(
    recipe: Recipe, sources: list[str], extras: dict[str, str], sampling: Sampling, round_: int
) -> tuple[list[str], str]:
    spec = recipe.knowledge_graph or KnowledgeGraphSpec()
    shards, prov = extend_round(
        [Path(p) for p in sources],
        extras["extractions_path"],
        extras["graph_path"],
        extras["graph_key"],
        spec,
        recipe.generator,
        sampling,
        recipe.seed,
        recipe.run_dir / "extension" / f"round-{round_}",
        round_,
        main_parts_path=extras.get("main_parts_path", ""),
    )
    get_run_logger().info("extension round %d: %d new anchor shards (provenance %s)", round_, len(shards), prov)
    return [str(p) for p in shards], str(prov)


def extend_anchors(
    recipe: Recipe, anchor_shards: list[str], extras: dict[str, str], sampling: Sampling
) -> tuple[list[str], dict[str, str], list[str]]:
    """GCSE steps 5-6, `extension_rounds` times: new anchors from the previous round's (the corpus first), each
    round re-extracted into the graph. Returns (all anchor shards, the final graph's extras, the stage's files)."""
    rounds = (recipe.knowledge_graph or KnowledgeGraphSpec()).extension_rounds
    all_shards, sources, files = list(anchor_shards), list(anchor_shards), []
    for r in range(1, rounds + 1):
        new, prov = extension_round(recipe, sources, extras, sampling, r)
        files += new + [prov]
        if not new:
            break
        all_shards += new
        sources = new
        extras = knowledge_graph(recipe, all_shards)  # re-extract: the new anchors join the graph
    return all_shards, extras, files
