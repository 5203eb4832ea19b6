"""The filter stages through the Prefect flows and the CLI: report files, artifacts, `synth refilter`."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pipelines"))
from filtering_helpers import rec, write_shard  # noqa: E402

from flows.recipe import load_recipe  # noqa: E402

FILTERS = [
    {"name": "rules"},
    {"name": "dedup"},
    {"name": "decontam"},
    {"name": "consistency", "min_positive_cos": 0.7, "max_negative_cos": 0.9},
]


def write_run(run: Path) -> None:
    """Generated shards as the pairs task writes them (two shards, a duplicate across them)."""
    gen = run / "generated" / "pairs"
    write_shard(
        gen,
        0,
        [
            rec(
                "A man is playing a guitar on the street.",
                "A man plays the guitar outdoors on a street.",
                "A chef slices onions in a busy kitchen.",
                seed=1,
            ),
            rec(
                "Two dogs run along the beach at sunset.",
                "Two dogs are running on the sand in the evening.",
                "Two dogs run along the beach at sunset today.",
                seed=2,
            ),  # negative ~ anchor
            rec(
                "A child is eating an apple in the garden.",
                "A kid eats fruit outside in a garden.",
                "A girl is styling her hair.",
                seed=3,
            ),
        ],
    )  # STS-B test sentence
    write_shard(
        gen,
        1,
        [
            rec(
                "A man is playing a guitar on the street.",
                "A man plays the guitar outdoors on a street!",
                "A chef slices onions in a busy kitchen.",
                seed=4,
            ),  # duplicate of seed 1
            rec(
                "An old woman knits a red scarf by the window.",
                "A grandmother is knitting a scarf near a window.",
                "A young man repairs a bicycle in the garage.",
                seed=5,
            ),
        ],
    )


@pytest.mark.slow
def test_curate_and_refilter_flows_write_report_and_artifacts(tmp_path):
    from prefect.artifacts import Artifact
    from typer.testing import CliRunner

    from flows.cli import app
    from flows.curate import curate
    from flows.planning import make_plan
    from flows.recipe import recipe_toml

    run = tmp_path / "run"
    write_run(run)
    recipe = load_recipe("recipes/quickstart.toml", {"output_dir": str(run), "name": "filtertest", "filters": FILTERS})
    (run / "recipe.toml").write_text(recipe_toml(recipe), encoding="utf-8")
    plan = make_plan(recipe)  # as `synth generate` would have planned these two shards
    plan.resolve("generate:pairs", sorted((run / "generated" / "pairs").glob("shard-*.parquet")))
    ds = Path(curate(recipe))
    stats = json.loads((ds / "stats.json").read_text())
    assert stats["kept"] == 2 and stats["rejects_by_reason"] == {
        "dedup:exact_duplicate:all": 1,
        "decontam:negative:exact": 1,
        "consistency:negative_too_close": 1,
    }
    md = (ds / "report.md").read_text()
    assert "| consistency | 3 | 2 | 1 |" in md and (ds / "plots" / "cosines.png").exists()
    assert "report.md" in (ds / "README.md").read_text()
    table = Artifact.get("filtertest-filters")
    assert table is not None and table.type == "table" and "consistency" in str(table.data)
    assert "Data-quality report" in Artifact.get("filtertest-data-quality").data

    result = CliRunner().invoke(
        app,
        [
            "refilter",
            str(run),
            "--set",
            "filters.consistency.max_negative_cos=0.999",
            "--set",
            "filters.consistency.margin=-1.0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "consistency" in result.output and "kept %" in result.output
    stats = json.loads((ds / "stats.json").read_text())
    assert stats["kept"] == 3 and "consistency:negative_too_close" not in stats["rejects_by_reason"]
    assert "max_negative_cos = 0.999" in (ds / "README.md").read_text()

    result = CliRunner().invoke(app, ["inspect", str(ds)])
    assert result.exit_code == 0 and "| 3 |" not in result.output and "decontam" in result.output
