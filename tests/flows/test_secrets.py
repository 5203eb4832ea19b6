"""API keys never reach logs, manifests or cards: a real run through the `openai` backend against a local
OpenAI-compatible stub on 127.0.0.1 that insists on a secret key, then every file of the run, the Prefect
database/logs and the captured output are searched for the secret."""

from __future__ import annotations

import json
import os
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tiny_recipe import write_stub

from flows.recipe import load_recipe


class KeyedStub:
    """Answers /v1/chat/completions only with the right bearer key; a wrong key gets a 401 that echoes it,
    as some gateways do."""

    def __init__(self, key: str):
        self.key, self.seen = key, []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                auth = self.headers.get("Authorization", "")
                stub.seen.append(auth)
                if auth != f"Bearer {stub.key}":
                    return self._send(401, {"error": {"message": f"Incorrect API key provided: {auth[7:]}"}})
                text = (
                    "A person is doing something outside."
                    if "negative" not in json.dumps(body)
                    else "Nobody is outside."
                )
                self._send(
                    200,
                    {
                        "choices": [
                            {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                            for i in range(body.get("n", 1))
                        ],
                        "usage": {"completion_tokens": 6},
                    },
                )

            def _send(self, code, payload):
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _files_with(root: Path, secret: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and secret in p.read_bytes()]


@pytest.mark.slow
def test_the_api_key_is_used_but_never_written(tmp_path, monkeypatch, caplog, capsys):
    pytest.importorskip("synth.backends.openai_backend")
    from prefect.logging.handlers import APILogHandler

    from flows.curate import curate
    from flows.synthesize import synthesize

    secret = "sk-csynth-" + secrets.token_hex(16)
    monkeypatch.setenv("CSYNTH_STUB_KEY", secret)
    with KeyedStub(secret) as stub:
        path = write_stub(
            tmp_path / "r.toml",
            tmp_path / "run",
            stub.url,
            name="secret-run",
            corpus={"limit": 4, "shard_size": 2},
            api_key_env="CSYNTH_STUB_KEY",
            max_retries=0,
        )
        recipe = load_recipe(path)
        synthesize(recipe)
        curate(recipe)
    assert stub.seen and all(a == f"Bearer {secret}" for a in stub.seen)  # the key was really sent
    run = tmp_path / "run"
    assert (run / "recipe.toml").read_text().count("CSYNTH_STUB_KEY") == 1  # the variable's name, not its value
    assert len(list((run / "generated" / "pairs").glob("shard-*.parquet"))) == 2
    assert (run / "dataset" / "README.md").exists()
    APILogHandler().flush()  # logs reach the database before it is searched
    assert _files_with(run, secret.encode()) == []
    assert _files_with(Path(os.environ["PREFECT_HOME"]), secret.encode()) == []
    assert secret not in caplog.text and secret not in "".join(capsys.readouterr())


def test_a_rejected_key_is_not_repeated_in_the_error(tmp_path, monkeypatch):
    """A gateway that echoes the wrong key back in its 401 body: the BackendError must not carry it."""
    ob = pytest.importorskip("synth.backends.openai_backend")
    from synth.backends.base import Request, Sampling

    wrong = "sk-wrong-" + secrets.token_hex(12)
    monkeypatch.setenv("CSYNTH_STUB_KEY", wrong)
    with KeyedStub("sk-right") as stub:
        backend = ob.OpenAIBackend(
            ob.OpenAISpec(model="m", base_url=stub.url, api_key_env="CSYNTH_STUB_KEY", max_retries=0)
        )
        with pytest.raises(ob.BackendError) as err:
            backend.generate([Request(messages=({"role": "user", "content": "hi"},), sampling=Sampling(max_tokens=4))])
    assert "401" in str(err.value) and wrong not in str(err.value)
