"""Issue 17: `synth --version`, the run log in the run directory, flow runs named after the recipe."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from tiny_recipe import write_tiny

ROOT = Path(__file__).resolve().parents[2]


def synth(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )


def test_version_prints_the_package_version():
    res = synth("--version", cwd=ROOT)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert res.returncode == 0 and res.stdout.strip() == f"contrastive-synth {version}"


def test_a_command_writes_its_log_to_the_run_dir_with_the_recipe_named_flow_run(tmp_path):
    recipe = write_tiny(tmp_path / "r.toml", tmp_path / "run", name="logged")
    res = synth("filter", str(recipe), cwd=tmp_path)  # nothing generated yet: fails, and says so in the log
    assert res.returncode == 1
    log = (tmp_path / "run" / "run.log").read_text(encoding="utf-8")
    assert "synth filter" in log and "no run plan" in log
    assert "Beginning flow run 'logged-curate'" in log


def test_without_any_prefect_setup_a_command_runs_on_the_temporary_server_under_data(tmp_path):
    """The users' default (README): no PREFECT_* anywhere, so the flow runs on Prefect's temporary server with its
    database under ./data/.prefect. The rest of the suite shares one server (tests/prefect_server.py)."""
    recipe = write_tiny(tmp_path / "r.toml", tmp_path / "run", name="plain")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    res = subprocess.run(
        [sys.executable, "-m", "flows.cli", "filter", str(recipe)],
        cwd=tmp_path,
        timeout=600,
        capture_output=True,
        text=True,
        env={**env, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)},
    )
    assert res.returncode == 1
    assert "Beginning flow run 'plain-curate'" in (tmp_path / "run" / "run.log").read_text(encoding="utf-8")
    assert (tmp_path / "data" / ".prefect" / "prefect.db").stat().st_size > 0


def test_the_cli_lets_waiting_torch_threads_sleep_unless_the_user_chose(tmp_path):
    """OpenMP's default spin-wait made CPU generation 6-20x slower beside any other busy process (bench/threads.py):
    the CLI sets OMP_WAIT_POLICY=PASSIVE before torch loads, and a user's own setting wins."""
    code = "import os, flows.cli, torch; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    seen = [
        subprocess.run(
            [sys.executable, "-c", code], env=env | extra, capture_output=True, text=True, cwd=ROOT, timeout=300
        ).stdout.split()[-1]
        for extra in ({}, {"OMP_WAIT_POLICY": "ACTIVE"})
    ]
    assert seen == ["PASSIVE", "ACTIVE"]
