"""Issue 17: the README's Python API example runs as written (real SmolLM2, 2 anchors, 16 tokens)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- api-example[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert m, "README has no api-example block"
    return m.group(1)


def test_unknown_stage_is_refused_by_name():
    from flows.api import load, run

    recipe = load(ROOT / "recipes" / "quickstart.toml", {"train": None})
    assert recipe.train is None and recipe.corpus.limit == 128
    with pytest.raises(ValueError, match=r"unknown stage\(s\) \['fit'\]; allowed"):
        run(recipe, "fit")


@pytest.mark.slow
def test_readme_api_example_runs_and_returns_the_dataset_path(tmp_path):
    (tmp_path / "recipes").symlink_to(ROOT / "recipes")
    res = subprocess.run(
        [sys.executable, "-c", readme_example()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=1200,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().splitlines()[-1] == "data/api-demo/dataset"
    stats = json.loads((tmp_path / "data" / "api-demo" / "dataset" / "stats.json").read_text(encoding="utf-8"))
    assert stats["by_task"]["pairs"]["generated"] == 2  # one pairs record per anchor (best-of-2 picks one)
