"""`synth schedule`: a real Prefect server on a free loopback port, the recipe's flow registered as a cron
deployment by the CLI and served, one run triggered through the API and run to completion."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prefect_server import free_port, start_server, stop
from tiny_recipe import write_stub, write_tiny
from typer.testing import CliRunner

from flows.recipe import Recipe, load_recipe

BIN = Path(sys.executable).parent


def _serve_and_run(recipe: Path, env: dict[str, str], name: str, tmp_path: Path, timeout: float = 600):
    """`synth schedule` serves the recipe's synthesize deployment; once registered, one run of it is started by
    hand and awaited: (the deployment, the run's final state). The serving process is stopped on exit."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    log = tmp_path / "serve.log"
    with log.open("w") as out:
        serve = subprocess.Popen(
            [str(BIN / "synth"), "schedule", str(recipe), "--cron", "0 3 * * *", "--stage", "synthesize"],
            env=env,
            cwd=tmp_path,
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
            deadline = time.time() + 240
            while True:
                assert serve.poll() is None, log.read_text()[-3000:]
                try:
                    dep = client.read_deployment_by_name(f"synthesize/{name}")
                    break
                except Exception:  # noqa: BLE001 - not registered yet
                    assert time.time() < deadline, "no deployment after 240 s"
                    time.sleep(1)
            run = run_deployment(f"synthesize/{name}", timeout=0)
            deadline = time.time() + timeout
            while True:
                state = client.read_flow_run(run.id).state
                if state is not None and state.is_final():
                    break
                assert serve.poll() is None, log.read_text()[-3000:]
                assert time.time() < deadline, f"run still {state} after {timeout:.0f} s"
                time.sleep(2)
    finally:
        stop(serve)
    assert state.is_completed(), (state, log.read_text()[-3000:])
    return dep, state


def test_the_recipe_round_trips_as_a_deployment_parameter(tmp_path):
    """Deployments store parameters as JSON; Prefect validates them back into a Recipe at run time."""
    from flows.deploy import build_deployment
    from flows.end_to_end import end_to_end

    recipe = load_recipe("recipes/quickstart.toml", {"output_dir": str(tmp_path / "run")})
    dep = build_deployment(recipe, "0 3 * * *")
    assert dep.flow_name == "end-to-end" and dep.entrypoint == "flows.end_to_end.end_to_end"
    back = end_to_end.validate_parameters(dep.parameters)["recipe"]
    assert isinstance(back, Recipe) and back == recipe
    assert dep.concurrency_limit == 1 and dep.schedules[0].schedule.cron == "0 3 * * *"


def test_schedule_without_a_server_is_a_clear_error(tmp_path, monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.cli import app

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    path = write_tiny(tmp_path / "r.toml", tmp_path / "run")
    # the suite's own server (tests/prefect_server.py) is in the settings Prefect read at import: unset it too,
    # or the command finds a server and serves the deployment forever
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        res = CliRunner().invoke(app, ["schedule", str(path), "--cron", "0 3 * * *"])
    assert res.exit_code == 2 and "PREFECT_API_URL is not set" in res.output and "prefect server start" in res.output
    res = CliRunner().invoke(app, ["schedule", str(path), "--cron", "0 3 * * *", "--stage", "train"])
    assert res.exit_code == 2 and "allowed values are all, synthesize" in res.output


def test_schedule_with_the_server_down_or_a_bad_cron(tmp_path):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.cli import app

    path = write_tiny(tmp_path / "r.toml", tmp_path / "run")
    with temporary_settings({PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}):
        res = CliRunner().invoke(app, ["schedule", str(path), "--cron", "0 3 * * *"])
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and "does not answer" in out and "prefect server start" in out
    from flows.deploy import build_deployment

    with pytest.raises(ValueError, match="Invalid cron"):
        build_deployment(load_recipe(path), "every day at 3")


@pytest.mark.slow
def test_schedule_serves_a_deployment_on_a_real_server_and_a_run_completes(tmp_path):
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
    server, env["PREFECT_API_URL"] = start_server(env)
    try:
        path = write_tiny(tmp_path / "r.toml", tmp_path / "run", name="sched", limit=2, shard_size=2)
        dep, _ = _serve_and_run(path, env, "sched", tmp_path)
        assert [s.schedule.cron for s in dep.schedules] == ["0 3 * * *"]
        assert dep.parameters["recipe"]["output_dir"] == str(tmp_path / "run")
        assert len(list((tmp_path / "run" / "generated" / "pairs").glob("shard-*.parquet"))) == 1
        assert (tmp_path / "run" / "recipe.toml").exists()
    finally:
        stop(server)


@pytest.mark.slow
def test_a_scheduled_run_against_a_server_alternating_429s_and_trickles_finishes_within_its_deadlines(tmp_path):
    """Each request meets a 429 asking for 30 s (capped at retry_after_max_s = 1 s), then a 200 that trickles for
    20 s (cut at timeout_s = 1 s), then an answer: the deployment's run completes, and generation takes about
    4 x (1 + 1 + backoff) s, far under what the server asked for (4 x 50 s)."""
    import pyarrow.parquet as pq
    from fault_server import FaultServer, sentence_answer

    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
    server, env["PREFECT_API_URL"] = start_server(env)
    script = [("429", "30"), ("trickle", 20.0), "ok"] * 4  # one cycle per request (2 anchors x positive/negative)
    try:
        with FaultServer(script, answer=sentence_answer) as llm:
            path = write_stub(
                tmp_path / "r.toml",
                tmp_path / "run",
                llm.url,
                name="sched-faults",
                concurrency=1,
                timeout_s=1.0,
                max_retries=3,
                backoff_s=0.1,
                backoff_max_s=0.2,
                retry_after_max_s=1.0,
            )
            _serve_and_run(path, env, "sched-faults", tmp_path, timeout=400)
        assert llm.actions == script  # every fault was met, in order
        shard = next((tmp_path / "run" / "generated" / "pairs").glob("shard-*.parquet"))
        table = pq.read_table(shard)
        assert table.num_rows == 2 and all(table.column("kept").to_pylist())
        seconds = float(table.schema.metadata[b"csynth.seconds"])
        assert seconds < 4 * (1.0 + 1.0 + 0.5) + 5, seconds  # the deadlines held: not 4 x (30 + 20) s
    finally:
        stop(server)
