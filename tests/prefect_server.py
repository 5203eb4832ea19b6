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
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_session_server(timeout: float = 300) -> str | None:
    """Start the server, export PREFECT_API_URL, stop it at exit; None when not wanted."""
    if os.environ.get("CSYNTH_TEST_EPHEMERAL") == "1" or os.environ.get("PREFECT_API_URL"):
        return None
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    home = Path(os.environ["PREFECT_HOME"])
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_UI_ENABLED": "false"}
    log = open(home / "server.log", "ab")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()

    atexit.register(stop)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server start exited ({proc.returncode}); see {home / 'server.log'}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop()
            raise RuntimeError(f"prefect server did not answer within {timeout:.0f} s; see {home / 'server.log'}")
        time.sleep(0.5)
    os.environ["PREFECT_API_URL"] = url
    return url
