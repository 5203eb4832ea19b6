"""The `ray` executor on a real local Ray cluster (`ray start --head`, 2 CPUs = two worker processes on
127.0.0.1): the same `run_shard` through prefect-ray's RayTaskRunner, task runs reported to the flow's API."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tiny_recipe import write_tiny

from flows.recipe import load_recipe
from pipelines.executors import ExecutorSpec, run_jobs
from pipelines.stage import ShardJob, ShardResult

ray = pytest.importorskip("ray")
pytest.importorskip("prefect_ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head():
    """A separate 2-CPU Ray cluster on 127.0.0.1, started without any Prefect settings in its environment
    (so the workers only reach the flow's API if the executor passes it), stopped by killing its own group."""
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="r8-", dir="/tmp")  # short: Ray's socket paths have a length limit
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["RAY_AUTH_MODE"] = "disabled"  # loopback-only test cluster; the driver connects without a token
    ray_bin = Path(sys.executable).parent / "ray"
    log = open(Path(temp) / "ray-start.log", "w")  # a file, not a pipe nobody drains
    proc = subprocess.Popen(
        [
            str(ray_bin),
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--num-cpus=2",
            "--num-gpus=0",
            "--include-dashboard=false",
            "--object-store-memory=200000000",
            f"--temp-dir={temp}",
            "--node-ip-address=127.0.0.1",
            "--disable-usage-stats",
        ],
        env=env,
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    address = f"127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"ray start exited: {(Path(temp) / 'ray-start.log').read_text(errors='replace')[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the Ray head did not open its port in 180 s")
    try:
        yield address
    finally:
        if ray.is_initialized():
            ray.shutdown()
        os.killpg(proc.pid, signal.SIGTERM)  # our own process group: gcs, raylet and workers of this cluster
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
def test_synthesize_on_ray_with_the_embedded_model(tmp_path, ray_head):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.synthesize import synthesize
    from pipelines.schema import SCHEMA

    path = write_tiny(
        tmp_path / "r.toml",
        tmp_path / "run",
        limit=4,
        shard_size=1,
        extra=f'\n[executor]\nkind = "ray"\naddress = "{ray_head}"\nworkers = 2\n',
    )
    recipe = load_recipe(path)
    state = synthesize(recipe, return_state=True)
    assert state.is_completed(), state
    shards = sorted((tmp_path / "run" / "generated" / "pairs").glob("shard-*.parquet"))
    assert len(shards) == 4 and not list((tmp_path / "run").rglob(".tmp-*"))
    rows = [r for s in shards for r in pq.read_table(s).to_pylist()]
    assert all(pq.read_schema(s).equals(SCHEMA, check_metadata=False) for s in shards)
    assert len(rows) == 4 and len({r["id"] for r in rows}) == 4  # one record per anchor, none twice
    assert all(r["provenance"]["model"] == "embedded:smollm2-135m-instruct" for r in rows)
    # the shard tasks ran on Ray workers and reported to this flow run's API (not a worker-local server)
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    shard_runs = [t for t in runs if t.name.startswith("generate-pairs-")]
    assert len(shard_runs) == 4 and all(t.state.is_completed() for t in shard_runs)
    # a rerun on Ray finds every shard finished and submits nothing
    mtimes = [s.stat().st_mtime_ns for s in shards]
    synthesize(recipe)
    assert [s.stat().st_mtime_ns for s in shards] == mtimes


def _flaky(job: ShardJob) -> ShardResult:
    """Control flow only: shard 1 fails, the others 'finish'."""
    if job.index == 1:
        raise ValueError("worker-side failure in shard 1")
    return ShardResult(path=job.out_path, records=len(job.anchors))


@pytest.mark.slow
def test_a_failing_shard_does_not_stop_the_others(tmp_path, ray_head):
    from synth.backends import TransformersSpec
    from synth.backends.base import Sampling
    from synth.records import Anchor
    from synth.tasks.pairs import PairsSpec

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test
    jobs = [
        ShardJob(
            index=i,
            out_path=str(tmp_path / f"shard-{i:05d}-k.parquet"),
            task=PairsSpec(),
            backend=TransformersSpec(),
            sampling=Sampling(max_tokens=8),
            seed=1,
            recipe_hash="h",
            anchors=(Anchor(f"sentence number {i}"),),
        )
        for i in range(4)
    ]
    done: list[ShardResult] = []
    with pytest.raises(RuntimeError) as err:
        run_jobs(
            jobs,
            ExecutorSpec(kind="ray", address=ray_head, workers=2, max_retries=0),
            runner=_flaky,
            on_done=done.append,
        )
    assert sorted(Path(r.path).name for r in done) == [
        "shard-00000-k.parquet",
        "shard-00002-k.parquet",
        "shard-00003-k.parquet",
    ]
    msg = str(err.value)
    assert "1 of 4 shards failed" in msg and "shard-00001-k.parquet" in msg and "worker-side failure" in msg
