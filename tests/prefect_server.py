"""One real `prefect server` for the whole test session.

Without it every CLI subprocess of the suite starts Prefect's temporary server and waits for its database
(seconds each, a minute on a loaded machine). The server runs in the session's PREFECT_HOME, so tests that look
into Prefect's database (secrets) still look at the one the runs wrote. `CSYNTH_TEST_EPHEMERAL=1` (or a
PREFECT_API_URL already set) keeps the old behaviour; the users' ephemeral path stays covered by tests that strip
PREFECT_* from their subprocess environment (tests/flows/test_env.py, test_ephemeral_cli).
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen) -> None:
    """Stop a process group a test started (a server, or `synth schedule` and the run it spawned)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start_server(
    env: dict[str, str], *, log: Path | None = None, ui: bool = False, timeout: float = 300
) -> tuple[subprocess.Popen, str]:
    """A `prefect server` on a free port of 127.0.0.1 in its own process group, healthy: (process, API URL)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {
        **env,
        "PREFECT_API_URL": url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "true" if ui else "false",
    }  # the UI's static files only where looked at
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    where = f"; see {log}" if log is not None else ""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server start exited ({proc.returncode}){where}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"prefect server did not answer within {timeout:.0f} s{where}")
        time.sleep(0.5)


@contextmanager
def prefect_server(env: dict[str, str], *, ui: bool = False) -> Iterator[str]:
    """A test's own server (its PREFECT_HOME in `env`), stopped on exit: yields the API URL."""
    proc, url = start_server(env, ui=ui)
    try:
        yield url
    finally:
        stop(proc)


def start_session_server(timeout: float = 300) -> str | None:
    """Start the server, export PREFECT_API_URL, stop it at exit; None when not wanted."""
    if os.environ.get("CSYNTH_TEST_EPHEMERAL") == "1" or os.environ.get("PREFECT_API_URL"):
        return None
    home = Path(os.environ["PREFECT_HOME"])
    proc, url = start_server(dict(os.environ), log=home / "server.log", timeout=timeout)
    atexit.register(stop, proc)
    os.environ["PREFECT_API_URL"] = url
    return url
