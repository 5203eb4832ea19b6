"""@flow curate: the planned shards -> filters with per-row verdicts -> Parquet dataset + card + report, streamed:
Arrow batches through the filters, size-bounded Parquet files, report histograms and card figures summed per batch.

@flow refilter: an existing dataset re-filtered with the recipe's (changed) filters, no generation: its rows
(`pipelines.refilter.refilter_batches`) go the same path. Both build the dataset in a staging directory with
`build_dataset` and swap it in (only files the project wrote are replaced).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.artifacts import artifact_key, publish_link
from flows.env import recipe_run_name
from flows.planning import guarded, read_plan
from flows.recipe import Recipe, recipe_toml
from pipelines import synthesis_card
from pipelines.curate import check_shards
from pipelines.curate_stream import MergedShards, curate_batches
from pipelines.filters import build_filter
from pipelines.inline_images import inline_images
from pipelines.knowledge_graph import add_fact_stats
from pipelines.knowledge_graph import card_sections as kg_card_sections
from pipelines.refilter import build_and_swap, find_dataset_dir, refilter_batches
from pipelines.report import Report, ReportStats, card_section
from pipelines.runplan import PlanError, RunPlan, plan_markdown, set_aside_counts
from pipelines.swap import MANIFEST
from pipelines.synthesis_card import SynthesisTally


def _artifact_key(recipe: Recipe, what: str) -> str:
    return artifact_key(recipe.name, what)


def publish_report(recipe: Recipe, report: Report, dataset_dir: Path) -> None:
    """The filter table, the whole report and a link to the dataset as Prefect artifacts. The report's plots
    are inlined (data: URIs): the UI cannot reach files relative to the dataset dir."""
    create_table_artifact(
        key=_artifact_key(recipe, "filters"),
        table=report.table,
        description="records in / kept / rejected per filter, with reasons",
    )
    create_markdown_artifact(
        key=_artifact_key(recipe, "data-quality"),
        markdown=inline_images(report.markdown, dataset_dir),
        description=f"data-quality report (also {dataset_dir / 'report.md'})",
    )
    publish_link(recipe.name, "dataset", dataset_dir)


def plan_section(plan: RunPlan) -> str:
    """The card's account of what was read: the plan's stages and the shards set aside (not read)."""
    aside = set_aside_counts(plan.run_dir)
    lines = [
        "## Run plan",
        "",
        "Curate read exactly the shards the run plan (`plan.json`) lists:",
        "",
        plan_markdown(plan),
        "",
    ]
    if aside:
        lines.append(
            "Set aside, not read: "
            + ", ".join(f"{n} {why} shard{'s' * (n != 1)} ({where})" for (why, where), n in sorted(aside.items()))
            + "."
        )
    return "\n".join(lines)


def card_sections(
    report: Report, plan: RunPlan | None, run: Path, staged: Path, facts: dict[str, int], synthesis: SynthesisTally
) -> list[str]:
    """Every card section after the fixed part, in order: the report, the run plan, the knowledge graph (its file
    copied beside the data), ranked lists / judge scores / scratch anchors. The card is written once from them."""
    out = [card_section(report)] + ([plan_section(plan)] if plan is not None else [])
    out += kg_card_sections(run, staged, facts)
    more = synthesis_card.section(synthesis, run / "anchors")
    return out + ([more] if more else [])


def build_dataset(
    recipe: Recipe, batches: Iterable[list[dict]], target: Path, plan: RunPlan | None
) -> tuple[dict, Report]:
    """Row batches through the recipe's filters into a staged dataset (size-bounded Parquet files, the report's
    histograms and the card's figures summed per batch: memory does not grow with the rows), swapped in."""
    filters = [build_filter(f) for f in recipe.filters]
    run = target.parent  # <run>/{dataset,generated,anchors,kg}

    def build(staged: Path) -> tuple[dict, Report]:
        report_stats, synthesis, facts = ReportStats(), SynthesisTally(), FactTally()
        made: list[Report] = []

        def sections(stats: list) -> list[str]:
            made.append(report_stats.write(stats, staged, title=recipe.name, filters=recipe.filters))
            return card_sections(made[0], plan, run, staged, facts.total, synthesis)

        summary, _ = curate_batches(
            batches,
            filters,
            staged,
            recipe_text=recipe_toml(recipe),
            recipe_name=recipe.name,
            observers=[report_stats, synthesis, facts],
            before_card=sections,
        )
        return summary, made[0]

    return build_and_swap(target, build)


class FactTally:
    """The knowledge-graph card's fact checks, summed per batch."""

    def __init__(self) -> None:
        self.total: dict[str, int] = {}

    def add(self, rows: list[dict]) -> None:
        add_fact_stats(self.total, rows)


@task(name="filter-and-write")
def filter_and_write(recipe: Recipe) -> dict:
    plan = read_plan(recipe)
    shards = plan.shard_paths()
    if not shards:
        raise PlanError(f"{recipe.run_dir / 'plan.json'}: no generated shards planned; run `synth generate` first")
    aside = set_aside_counts(plan.run_dir)
    if aside:
        get_run_logger().warning("not read (set aside): %s", {f"{w} ({d})": n for (w, d), n in aside.items()})
    check_shards(shards)
    summary, report = build_dataset(recipe, MergedShards(shards).batches(), recipe.run_dir / "dataset", plan)
    publish_report(recipe, report, recipe.run_dir / "dataset")
    plan.resolve("curate", [recipe.run_dir / "dataset" / MANIFEST])  # the manifest lists every file written
    return summary


@task(name="refilter-dataset")
def refilter_dataset(recipe: Recipe, dataset: str) -> dict:
    dataset_dir = find_dataset_dir(Path(dataset))
    try:
        plan = RunPlan.read(dataset_dir.parent)
        shards = plan.shard_paths()
    except PlanError:  # a dataset without its run (copied elsewhere): its own rows are the input
        plan, shards = None, []
    summary, report = build_dataset(recipe, refilter_batches(dataset_dir, shards), dataset_dir, plan)
    publish_report(recipe, report, dataset_dir)
    return summary


@flow(name="curate", flow_run_name=recipe_run_name("curate"))
def curate(recipe: Recipe) -> str:
    with guarded(recipe, "curate"):
        summary = filter_and_write(recipe)
    get_run_logger().info(
        "dataset: %d kept, %d rejected %s", summary["kept"], summary["rejected"], summary["rejects_by_reason"]
    )
    return str(recipe.run_dir / "dataset")


@flow(name="refilter", flow_run_name=recipe_run_name("refilter"))
def refilter(recipe: Recipe, dataset: str) -> str:
    """Re-filter an existing dataset (no generation); stored cosines and verdicts make this cheap."""
    summary = refilter_dataset(recipe, dataset)
    get_run_logger().info(
        "re-filtered: %d kept, %d rejected %s", summary["kept"], summary["rejected"], summary["rejects_by_reason"]
    )
    return str(find_dataset_dir(Path(dataset)))
