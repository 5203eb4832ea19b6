"""`synth schedule`: a real Prefect server on a free loopback port, the recipe's flow registered as a cron
deployment by the CLI and served, one run triggered through the API and run to completion."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tiny_recipe import write_tiny
from typer.testing import CliRunner

from flows.recipe import Recipe, load_recipe

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process group we started (the server or `synth schedule` and the run it spawned)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


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
    with temporary_settings({PREFECT_API_URL: f"http://127.0.0.1:{_free_port()}/api"}):
        res = CliRunner().invoke(app, ["schedule", str(path), "--cron", "0 3 * * *"])
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and "does not answer" in out and "prefect server start" in out
    from flows.deploy import build_deployment

    with pytest.raises(ValueError, match="Invalid cron"):
        build_deployment(load_recipe(path), "every day at 3")


@pytest.mark.slow
def test_schedule_serves_a_deployment_on_a_real_server_and_a_run_completes(tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": url,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_RUNNER_POLL_FREQUENCY": "2",
           "PREFECT_SERVER_UI_ENABLED": "false"}  # the UI's static files are not under test: skip copying them
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    serve = None
    try:
        deadline = time.time() + 240
        while True:
            assert server.poll() is None, "prefect server start exited"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline, "the Prefect server did not become healthy in 240 s"
            time.sleep(1)

        path = write_tiny(tmp_path / "r.toml", tmp_path / "run", name="sched", limit=2, shard_size=2)
        log = (tmp_path / "serve.log").open("w")
        serve = subprocess.Popen([str(BIN / "synth"), "schedule", str(path), "--cron", "0 3 * * *",
                                  "--stage", "synthesize"], env=env, cwd=tmp_path, start_new_session=True,
                                 stdout=log, stderr=subprocess.STDOUT)
        with temporary_settings({PREFECT_API_URL: url}):
            with get_client(sync_client=True) as client:
                deadline = time.time() + 240
                while True:
                    assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
                    try:
                        dep = client.read_deployment_by_name("synthesize/sched")
                        break
                    except Exception:  # noqa: BLE001 - not registered yet
                        assert time.time() < deadline, "no deployment after 240 s"
                        time.sleep(1)
                assert [s.schedule.cron for s in dep.schedules] == ["0 3 * * *"]
                assert dep.parameters["recipe"]["output_dir"] == str(tmp_path / "run")
                run = run_deployment("synthesize/sched", timeout=0)
                deadline = time.time() + 600
                while True:
                    state = client.read_flow_run(run.id).state
                    if state is not None and state.is_final():
                        break
                    assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
                    assert time.time() < deadline, f"run still {state} after 600 s"
                    time.sleep(2)
        assert state.is_completed(), (state, (tmp_path / "serve.log").read_text()[-3000:])
        assert len(list((tmp_path / "run" / "generated" / "pairs").glob("shard-*.parquet"))) == 1
        assert (tmp_path / "run" / "recipe.toml").exists()
    finally:
        if serve is not None:
            _stop(serve)
        _stop(server)


FAULTY = """
name = "sched-faults"
seed = 13
output_dir = "{out}"
[corpus]
path = "builtin:snli-premises"
limit = 2
shard_size = 2
[generator]
backend = "openai"
model = "stub-model"
base_url = "{url}"
concurrency = 1
timeout_s = 1.0
max_retries = 3
backoff_s = 0.1
backoff_max_s = 0.2
retry_after_max_s = 1.0
[sampling]
max_tokens = 16
[[tasks]]
name = "pairs"
exemplars = 0
[[filters]]
name = "rules"
"""


@pytest.mark.slow
def test_a_scheduled_run_against_a_server_alternating_429s_and_trickles_finishes_within_its_deadlines(tmp_path):
    """Each request meets a 429 asking for 30 s (capped at retry_after_max_s = 1 s), then a 200 that trickles for
    20 s (cut at timeout_s = 1 s), then an answer: the deployment's run completes, and generation takes about
    4 x (1 + 1 + backoff) s, far under what the server asked for (4 x 50 s)."""
    import pyarrow.parquet as pq
    from fault_server import FaultServer, sentence_answer
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": url,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_RUNNER_POLL_FREQUENCY": "2",
           "PREFECT_SERVER_UI_ENABLED": "false"}
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    serve = None
    script = [("429", "30"), ("trickle", 20.0), "ok"] * 4  # one cycle per request (2 anchors x positive/negative)
    try:
        with FaultServer(script, answer=sentence_answer) as llm:
            deadline = time.time() + 240
            while True:
                assert server.poll() is None, "prefect server start exited"
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.time() < deadline, "the Prefect server did not become healthy in 240 s"
                time.sleep(1)
            path = tmp_path / "r.toml"
            path.write_text(FAULTY.format(out=(tmp_path / "run").as_posix(), url=llm.url), encoding="utf-8")
            log = (tmp_path / "serve.log").open("w")
            serve = subprocess.Popen([str(BIN / "synth"), "schedule", str(path), "--cron", "0 3 * * *",
                                      "--stage", "synthesize"], env=env, cwd=tmp_path, start_new_session=True,
                                     stdout=log, stderr=subprocess.STDOUT)
            with temporary_settings({PREFECT_API_URL: url}):
                with get_client(sync_client=True) as client:
                    deadline = time.time() + 240
                    while True:
                        assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
                        try:
                            client.read_deployment_by_name("synthesize/sched-faults")
                            break
                        except Exception:  # noqa: BLE001 - not registered yet
                            assert time.time() < deadline, "no deployment after 240 s"
                            time.sleep(1)
                    run = run_deployment("synthesize/sched-faults", timeout=0)
                    deadline = time.time() + 400
                    while True:
                        state = client.read_flow_run(run.id).state
                        if state is not None and state.is_final():
                            break
                        assert time.time() < deadline, f"run still {state} after 400 s"
                        time.sleep(2)
        assert state.is_completed(), (state, (tmp_path / "serve.log").read_text()[-3000:])
        assert llm.actions == script  # every fault was met, in order
        shard = next((tmp_path / "run" / "generated" / "pairs").glob("shard-*.parquet"))
        table = pq.read_table(shard)
        assert table.num_rows == 2 and all(table.column("kept").to_pylist())
        seconds = float(table.schema.metadata[b"csynth.seconds"])
        assert seconds < 4 * (1.0 + 1.0 + 0.5) + 5, seconds  # the deadlines held: not 4 x (30 + 20) s
    finally:
        if serve is not None:
            _stop(serve)
        _stop(server)
