"""Issue 16 item 1: an outside package adds a task through the `contrastive_synth.plugins` entry point, and a
recipe naming it runs through the real CLI and the embedded model without any edit of this repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tiny_recipe import write_tiny

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "tests" / "plugin_fixture"


def test_a_registry_resolves_module_attr_lazily_and_names_what_is_registered():
    from synth.registry import Registry

    reg = Registry("widget")
    reg.register("json", None, "json:dumps")
    before = reg.version
    assert reg.impl("json")({"a": 1}) == '{"a": 1}'
    with pytest.raises(KeyError, match="no widget named 'yaml'; registered: json"):
        reg["yaml"]
    reg.register("x", None, len)
    assert reg.version == before + 1 and list(reg) == ["json", "x"]


@pytest.mark.slow
def test_an_outside_task_registered_by_entry_point_runs_from_a_recipe(tmp_path):
    recipe = write_tiny(tmp_path / "r.toml", tmp_path / "run", name="plugged", limit=2)
    text = recipe.read_text(encoding="utf-8").replace(
        'name = "pairs"\nexemplars = 0', 'name = "echo"\nstyle = "loudly"'
    )
    recipe.write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(PLUGIN)])}
    res = subprocess.run(
        [sys.executable, "-m", "flows.cli", "generate", str(recipe)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    rows = [
        r
        for p in sorted((tmp_path / "run" / "generated" / "echo").glob("*.parquet"))
        for r in pq.read_table(p).to_pylist()
    ]
    assert len(rows) == 2 and {r["task"] for r in rows} == {"echo"}
    assert all(r["provenance"]["prompt_ids"] == ["echo-v1"] for r in rows)
    assert all(r["provenance"]["model"] == "embedded:smollm2-135m-instruct" for r in rows)
    assert sum(1 for r in rows if r["positive"]) >= 1  # the real model answered


def test_without_the_plugin_the_recipe_error_names_the_unknown_task(tmp_path, monkeypatch):
    from flows.recipe import RecipeError, load_recipe
    from synth.tasks import TASKS

    monkeypatch.delitem(TASKS, "echo", raising=False)  # another test module may have imported the plugin

    recipe = write_tiny(tmp_path / "r.toml", tmp_path / "run", name="plugged", limit=2)
    recipe.write_text(
        recipe.read_text(encoding="utf-8").replace('name = "pairs"\nexemplars = 0', 'name = "echo"'), encoding="utf-8"
    )
    with pytest.raises(RecipeError, match="tasks"):
        load_recipe(recipe)
