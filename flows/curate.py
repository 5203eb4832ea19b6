"""@flow curate: generated shards -> filters with per-row verdicts -> Parquet dataset + card + report.

@flow refilter: an existing dataset re-filtered with the recipe's (changed) filters, no generation.
"""
from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.recipe import Recipe, recipe_toml
from pipelines import synthesis_card
from pipelines.annotate import ordered_task_names
from pipelines.curate import apply_filters, load_rows
from pipelines.filters import build_filter
from pipelines.knowledge_graph import add_to_card
from pipelines.refilter import find_dataset_dir, load_for_refilter, rewrite_dataset, write_curated
from pipelines.report import Report


def _artifact_key(recipe: Recipe, what: str) -> str:
    return f"{recipe.name.lower().replace('_', '-').replace('.', '-')}-{what}"


def publish_report(recipe: Recipe, report: Report) -> None:
    """The filter table and the whole report as Prefect artifacts (plots stay files in the dataset dir)."""
    create_table_artifact(key=_artifact_key(recipe, "filters"), table=report.table,
                          description="records in / kept / rejected per filter, with reasons")
    create_markdown_artifact(key=_artifact_key(recipe, "data-quality"), markdown=report.markdown,
                             description="data-quality report (plots: dataset/plots/*.png)")


@task(name="filter-and-write")
def filter_and_write(recipe: Recipe) -> dict:
    run = recipe.run_dir
    rows = load_rows([run / "generated" / n for n in ordered_task_names(recipe.tasks)])  # judge rows win
    if not rows:
        raise RuntimeError(f"no generated shards under {run / 'generated'}; run `synth generate` first")
    stats = apply_filters(rows, [build_filter(f) for f in recipe.filters])
    summary, report = write_curated(rows, stats, run / "dataset", filters=recipe.filters,
                                    recipe_text=recipe_toml(recipe), recipe_name=recipe.name)
    add_to_card(run, run / "dataset", rows)  # knowledge-graph summary + graph file, when the run built one
    synthesis_card.add_to_card(run / "dataset", rows, run / "anchors")  # ranked lists, judge scores, scratch
    publish_report(recipe, report)
    return summary


@task(name="refilter-dataset")
def refilter_dataset(recipe: Recipe, dataset: str) -> dict:
    dataset_dir = find_dataset_dir(Path(dataset))
    generated = [dataset_dir.parent / "generated" / n for n in ordered_task_names(recipe.tasks)]  # <run>/{dataset,generated}
    rows = load_for_refilter(dataset_dir, generated)
    stats = apply_filters(rows, [build_filter(f) for f in recipe.filters])
    summary, report = rewrite_dataset(rows, stats, dataset_dir, filters=recipe.filters,
                                      recipe_text=recipe_toml(recipe), recipe_name=recipe.name)
    add_to_card(dataset_dir.parent, dataset_dir, rows)
    synthesis_card.add_to_card(dataset_dir, rows, dataset_dir.parent / "anchors")
    publish_report(recipe, report)
    return summary


@flow(name="curate")
def curate(recipe: Recipe) -> str:
    summary = filter_and_write(recipe)
    get_run_logger().info("dataset: %d kept, %d rejected %s", summary["kept"], summary["rejected"],
                          summary["rejects_by_reason"])
    return str(recipe.run_dir / "dataset")


@flow(name="refilter")
def refilter(recipe: Recipe, dataset: str) -> str:
    """Re-filter an existing dataset (no generation); stored cosines and verdicts make this cheap."""
    summary = refilter_dataset(recipe, dataset)
    get_run_logger().info("re-filtered: %d kept, %d rejected %s", summary["kept"], summary["rejected"],
                          summary["rejects_by_reason"])
    return str(find_dataset_dir(Path(dataset)))
