"""A run directory holds exactly what its recipe planned (issue 12), through the real CLI and the embedded LLM:
a changed recipe rerun in the same directory gives the rows a fresh run gives; a broken shard is regenerated;
kill -9 during curate and during training leave nothing half-written and the rerun completes."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tiny_recipe import write_tiny
from typer.testing import CliRunner

SYNTH = str(Path(sys.executable).parent / "synth")
CHANGED = [
    "--set",
    "sampling.temperature=0.9",
    "--set",
    "tasks.pairs.exemplars=2",
    "--set",
    "corpus.limit=3",
    "--set",
    "corpus.shard_size=3",
]


def _cli(*args: str) -> str:
    from flows.cli import app

    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == 0, res.output[-3000:]
    return res.output


def _dataset(run: Path) -> dict[str, tuple]:
    from pipelines.dataset import read_dataset_rows

    rows = read_dataset_rows(run / "dataset", "data") + read_dataset_rows(run / "dataset", "rejects")
    out = {
        r["id"]: (r["anchor_id"], r["positive"], r["negative"], r["kept"], r["reason"], r["provenance"]["temperature"])
        for r in rows
    }
    assert len(out) == len(rows), "a record appears twice"
    return out


@pytest.mark.slow
def test_changed_recipe_rerun_in_the_same_dir_equals_a_fresh_run(tmp_path, smollm):
    run, fresh = tmp_path / "run", tmp_path / "fresh"
    recipe = write_tiny(tmp_path / "r.toml", run, limit=4, shard_size=2)
    _cli("generate", str(recipe))
    _cli("filter", str(recipe))
    first = _dataset(run)
    assert len({v[0] for v in first.values()}) == 4 and {v[5] for v in first.values()} == {0.7}

    _cli("generate", str(recipe), *CHANGED)  # new temperature, exemplars, limit and shard size: same directory
    _cli("filter", str(recipe), *CHANGED)
    _cli("generate", str(recipe), *CHANGED, "--set", f'output_dir="{fresh.as_posix()}"')
    _cli("filter", str(recipe), *CHANGED, "--set", f'output_dir="{fresh.as_posix()}"')

    rerun, clean = _dataset(run), _dataset(fresh)
    assert rerun == clean  # same ids, texts, verdicts: nothing of the first recipe mixed in
    assert len(rerun) == 3 and len({v[0] for v in rerun.values()}) == 3  # 3 anchors, once each
    assert {v[5] for v in rerun.values()} == {0.9}
    stale = sorted(p.name for p in (run / "generated" / ".stale" / "pairs").iterdir())
    assert len(stale) == 2  # the first recipe's two shards, set aside and not read
    assert "2 stale shards (generated/.stale/pairs)" in (run / "dataset" / "README.md").read_text()

    _cli("generate", str(recipe))  # back to the first recipe: its shards come back from .stale/, not regenerated
    _cli("filter", str(recipe))
    assert _dataset(run) == first


@pytest.mark.slow
def test_a_truncated_shard_is_set_aside_and_regenerated(tmp_path, smollm):
    run = tmp_path / "run"
    recipe = write_tiny(tmp_path / "r.toml", run, limit=2, shard_size=1)
    _cli("generate", str(recipe))
    shards = sorted((run / "generated" / "pairs").glob("shard-*.parquet"))
    whole = pq.read_table(shards[1]).column("id").to_pylist()
    shards[1].write_bytes(shards[1].read_bytes()[:100])  # a truncated file under a finished name
    out = _cli("generate", str(recipe))
    assert pq.read_table(shards[1]).column("id").to_pylist() == whole  # regenerated, same records
    assert [p.name for p in (run / "generated" / ".broken" / "pairs").iterdir()] == [shards[1].name]
    assert "dataset" in _cli("filter", str(recipe)) and out


def _kill_when(proc: subprocess.Popen, seen, limit: float = 600) -> None:
    t0 = time.perf_counter()
    while not seen():
        assert proc.poll() is None, f"exited before the kill point: {proc.stderr.read().decode()[-3000:]}"
        assert time.perf_counter() - t0 < limit, "kill point not reached"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_kill_9_while_the_dataset_is_written_then_rerun(tmp_path, smollm):
    from flows.curate import curate
    from flows.recipe import load_recipe

    run, clean = tmp_path / "run", tmp_path / "clean"
    recipe = write_tiny(tmp_path / "r.toml", run, limit=4, shard_size=2)
    _cli("generate", str(recipe))
    shutil.copytree(run, clean)
    curate(load_recipe(recipe, {"output_dir": str(clean)}))  # the uninterrupted reference
    _cli("filter", str(recipe))  # an existing dataset, with a user's file in it
    (run / "dataset" / "MY_NOTES.md").write_text("keep me")

    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    proc = subprocess.Popen(
        [SYNTH, "filter", str(recipe)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _kill_when(proc, lambda: any(p.is_dir() and any(p.rglob("*")) for p in run.glob(".tmp-dataset-*")))
    assert list(run.glob(".tmp-dataset-*")), "the kill must land while the new dataset is being written"

    res = subprocess.run([SYNTH, "filter", str(recipe)], env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert _dataset(run) == _dataset(clean)
    assert (run / "dataset" / "MY_NOTES.md").read_text() == "keep me"
    assert not list(run.glob(".tmp-*")) and not (run / "dataset" / ".swap.json").exists()


@pytest.mark.slow
def test_kill_9_during_training_keeps_the_previous_model_and_the_rerun_trains_from_scratch(tmp_path, smollm):
    from sentence_transformers import SentenceTransformer

    run = tmp_path / "run"
    extra = "\n[train]\nmax_steps = 2\nbatch_size = 2\n"
    recipe = write_tiny(tmp_path / "r.toml", run, limit=6, shard_size=3, extra=extra)
    _cli("generate", str(recipe))
    _cli("filter", str(recipe), "--set", "filters=[]")
    _cli("train", str(recipe), "--set", "filters=[]")
    before = _digest(run / "model")
    assert "model.safetensors" in before and "training.json" in before

    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    proc = subprocess.Popen(
        [SYNTH, "train", str(recipe), "--set", "filters=[]", "--set", "train.max_steps=400"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _kill_when(proc, lambda: _trainer_started(run))
    assert _digest(run / "model") == before  # the killed run left the previous model whole and untouched

    res = subprocess.run(
        [SYNTH, "train", str(recipe), "--set", "filters=[]", "--set", "train.seed=7"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    after = _digest(run / "model")
    assert after["model.safetensors"] != before["model.safetensors"] and not list(run.glob(".tmp-*"))
    assert SentenceTransformer(str(run / "model"), device="cpu").encode(["a"]).shape == (1, 384)


def _trainer_started(run: Path) -> bool:
    """The staging dir exists and training has run for a moment (model loaded, steps under way)."""
    staged = list(run.glob(".tmp-model-*"))
    if not staged:
        return False
    return time.time() - staged[0].stat().st_mtime > 3


@pytest.mark.slow
def test_a_second_writer_fails_at_once_naming_the_holder_and_kill_9_frees_the_dir(tmp_path):
    from pipelines.rundir import holder

    run = tmp_path / "run"
    recipe = write_tiny(tmp_path / "r.toml", run, limit=64, shard_size=1)  # long enough to still be running
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    proc = subprocess.Popen(
        [SYNTH, "generate", str(recipe)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        t0 = time.perf_counter()
        while holder(run).get("pid") != proc.pid:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.perf_counter() - t0 < 300
            time.sleep(0.1)
        for command in ("filter", "generate", "train"):
            res = subprocess.run([SYNTH, command, str(recipe)], env=env, capture_output=True, text=True, timeout=300)
            out = " ".join((res.stdout + res.stderr).split())  # rich wraps long lines
            assert res.returncode == 1, out[-2000:]
            assert f"in use by pid {proc.pid}" in out and f"synth generate {recipe}" in out
        assert proc.poll() is None  # the holder was not disturbed
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    res = subprocess.run(
        [SYNTH, "generate", str(recipe), "--set", "corpus.limit=2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert len(list((run / "generated" / "pairs").glob("shard-*.parquet"))) == 2
