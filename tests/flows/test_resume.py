"""Crash-safe resume: `kill -9` a real `synth generate` mid-run, rerun it, and get exactly the dataset an
uninterrupted run gives (same ids and texts, nothing lost, nothing twice, no partial shard visible)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tiny_recipe import write_tiny

from flows.recipe import load_recipe

SYNTH = str(Path(sys.executable).parent / "synth")
COLUMNS = ("id", "anchor_id", "anchor", "positive", "negative", "kept", "reason")


def _rows(run: Path) -> dict[str, dict]:
    rows = [
        r for s in sorted((run / "generated" / "pairs").glob("shard-*.parquet")) for r in pq.read_table(s).to_pylist()
    ]
    out = {r["id"]: {c: r[c] for c in COLUMNS} for r in rows}
    assert len(out) == len(rows), "a record id appears twice"
    return out


def _shards(run: Path) -> list[str]:
    return sorted(p.name for p in (run / "generated" / "pairs").glob("shard-*.parquet"))


@pytest.mark.slow
def test_kill_9_mid_run_then_rerun_equals_an_uninterrupted_run(tmp_path, smollm):
    from flows.curate import curate
    from flows.synthesize import synthesize
    from pipelines.dataset import read_dataset_rows

    crashed, clean = tmp_path / "crashed", tmp_path / "clean"
    recipe_file = write_tiny(tmp_path / "r.toml", crashed, limit=4, shard_size=1)  # 4 shards
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    timings: dict[str, float] = {}

    # 1. a real run in its own process group, killed with SIGKILL once its first shard is on disk
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [SYNTH, "generate", str(recipe_file)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    gen = crashed / "generated" / "pairs"
    while not _shards(crashed):
        assert proc.poll() is None, f"synth generate exited early: {proc.stderr.read().decode()[-3000:]}"
        assert time.perf_counter() - t0 < 900, "no shard after 900 s"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its temporary Prefect server: our own process group
    proc.wait()
    timings["until_kill_s"] = time.perf_counter() - t0
    survived = _shards(crashed)
    assert 1 <= len(survived) < 4, "the kill must land mid-run"
    for name in survived:  # whatever a reader can see is a whole shard (atomic rename)
        pq.read_table(gen / name)
    (gen / ".tmp-killed.parquet").write_bytes(b"PAR1 half a shard")  # what a kill during a write leaves
    first = {n: (gen / n).stat().st_mtime_ns for n in survived}

    # 2. the same command again: finished shards are kept, the partial file removed, the rest generated
    t1 = time.perf_counter()
    res = subprocess.run([SYNTH, "generate", str(recipe_file)], env=env, capture_output=True, text=True, timeout=1800)
    timings["rerun_s"] = time.perf_counter() - t1
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert {n: (gen / n).stat().st_mtime_ns for n in survived} == first, "a finished shard was regenerated"
    assert not list(crashed.rglob(".tmp-*"))
    assert len(_shards(crashed)) == 4

    # 3. an uninterrupted run of the same recipe elsewhere (in this process: same model, same threads)
    t2 = time.perf_counter()
    recipe_clean = load_recipe(recipe_file, {"output_dir": str(clean)})
    synthesize(recipe_clean)
    timings["uninterrupted_s"] = time.perf_counter() - t2

    assert _shards(crashed) == _shards(clean)  # same content keys
    a, b = _rows(crashed), _rows(clean)
    assert len(a) == 4 and set(a) == set(b)  # 0 lost, 0 duplicated
    assert a == b  # and the regenerated shards are identical, text included (per-batch seeding)

    # 4. the curated datasets agree too
    curate(load_recipe(recipe_file))
    curate(recipe_clean)
    for split in ("data", "rejects"):
        ids_a = sorted(r["id"] for r in read_dataset_rows(crashed / "dataset", split))
        ids_b = sorted(r["id"] for r in read_dataset_rows(clean / "dataset", split))
        assert ids_a == ids_b and len(ids_a) == len(set(ids_a))
    print("resume timings", json.dumps({k: round(v, 1) for k, v in timings.items()}, sort_keys=True))
