"""@flow curate: generated shards -> filters with per-row verdicts -> Parquet dataset + card."""
from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows.recipe import Recipe, recipe_toml
from pipelines.curate import apply_filters, load_rows
from pipelines.dataset import filter_table_markdown, write_dataset
from pipelines.filters import build_filter
from pipelines.knowledge_graph import add_to_card


@task(name="filter-and-write")
def filter_and_write(recipe: Recipe) -> dict:
    run = recipe.run_dir
    rows = load_rows([run / "generated" / t.name for t in recipe.tasks])
    if not rows:
        raise RuntimeError(f"no generated shards under {run / 'generated'}; run `synth generate` first")
    stats = apply_filters(rows, [build_filter(f) for f in recipe.filters])
    summary = write_dataset(rows, stats, run / "dataset", recipe_text=recipe_toml(recipe), recipe_name=recipe.name)
    add_to_card(run, run / "dataset", rows)  # knowledge-graph summary + graph file, when the run built one
    create_markdown_artifact(key=f"{recipe.name.lower().replace('_', '-').replace('.', '-')}-filters",
                             markdown=filter_table_markdown(stats), description="records in/out per filter")
    return summary


@flow(name="curate")
def curate(recipe: Recipe) -> str:
    summary = filter_and_write(recipe)
    get_run_logger().info("dataset: %d kept, %d rejected %s", summary["kept"], summary["rejected"],
                          summary["rejects_by_reason"])
    return str(recipe.run_dir / "dataset")
