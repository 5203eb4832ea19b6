"""The openai backend against a small fault-injecting HTTP server on 127.0.0.1: request bodies, retries with
backoff on refused connections / timeouts / 500 / 429, the clear error when a server stays down, bounded
concurrency, and an API key that never leaves the Authorization header."""
from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from synth.backends import BackendError
from synth.backends import openai_backend as ob
from synth.backends.base import Guidance, Request, Sampling, Structured, chat_messages
from synth.serve import free_port

SECRET = "sk-test-SECRET-0123456789"


class FaultServer:
    """Answers POST /v1/chat/completions; `script` is consumed one entry per request: "ok", "500", "429",
    "400", or ("hang", seconds). When the script is empty every request succeeds."""

    def __init__(self, script=(), delay: float = 0.0):
        self.script = list(script)
        self.delay = delay
        self.bodies: list[dict] = []
        self.auth: list[str | None] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep pytest output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.bodies.append(body)
                    outer.auth.append(self.headers.get("Authorization"))
                    action = outer.script.pop(0) if outer.script else "ok"
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    if isinstance(action, tuple):
                        time.sleep(action[1])
                        action = "ok"
                    time.sleep(outer.delay)
                    if action == "ok":
                        self._send(200, outer.answer(body))
                    elif action == "garbage":
                        self._send(200, None, raw=b"<html>proxy error</html>")
                    else:
                        code = int(action)
                        self._send(code, {"error": {"message": f"injected {code}"}},
                                   {"Retry-After": "0"} if code == 429 else {})
                finally:
                    with outer.lock:
                        outer.in_flight -= 1

            def _send(self, code, payload, headers=None, raw=None):
                data = raw if raw is not None else json.dumps(payload).encode()
                try:
                    self.send_response(code)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @staticmethod
    def answer(body: dict) -> dict:
        text = "echo: " + body["messages"][-1]["content"]
        choices = []
        for k in range(body.get("n", 1)):
            c = {"index": k, "message": {"role": "assistant", "content": f"{text} #{k}"}, "finish_reason": "stop"}
            if body.get("logprobs"):
                c["logprobs"] = {"content": [{"token": "echo", "logprob": -0.1, "top_logprobs": [
                    {"token": "echo", "logprob": -0.1}, {"token": "Echo", "logprob": -2.5}]}]}
            choices.append(c)
        return {"choices": choices, "usage": {"completion_tokens": 5 * len(choices)}}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def spec(url, **kw):
    base = dict(base_url=url, max_retries=3, backoff_s=0.01, backoff_max_s=0.05, timeout_s=5.0,
                connect_timeout_s=1.0)
    base.update(kw)
    return ob.OpenAISpec(**base)


def req(text="a man rides a horse", **sampling):
    return Request(messages=chat_messages(("user", text)), sampling=Sampling(max_tokens=16, **sampling))


def test_request_body_fields():
    r = Request(messages=chat_messages(("user", "hi")),
                sampling=Sampling(max_tokens=32, temperature=0.5, top_p=0.8, seed=7, n=3, stop=("\n",), logprobs=4),
                structured=Structured(kind="json", spec={"type": "object"}))
    body = ob.request_body("m", r)
    assert body["max_tokens"] == 32 and body["n"] == 3 and body["stop"] == ["\n"]
    assert body["seed"] == 7 * ob.SEED_STRIDE  # seeds of sample k (seed + k) never reach the next request's
    assert body["logprobs"] is True and body["top_logprobs"] == 4
    assert body["structured_outputs"] == {"json": {"type": "object"}, "disable_any_whitespace": True}
    assert not any(k.startswith("guided_") for k in body)  # ignored by vLLM >= 0.11
    choice = ob.request_body("m", Request(r.messages, r.sampling, Structured("choice", ["1", "2"])))
    assert choice["structured_outputs"] == {"choice": ["1", "2"]}
    regex = ob.request_body("m", Request(r.messages, r.sampling, Structured("regex", "[0-9]")))
    assert regex["structured_outputs"] == {"regex": "[0-9]"}
    rf = ob.request_body("m", r, "response_format")
    assert rf["response_format"]["json_schema"]["schema"] == {"type": "object"}
    with pytest.raises(BackendError, match="only carries JSON"):
        ob.request_body("m", Request(r.messages, r.sampling, Structured("choice", ["1"])), "response_format")
    with pytest.raises(BackendError, match="guidance"):
        ob.request_body("m", Request(r.messages, r.sampling, guidance=Guidance(negative=r.messages)))


def test_generate_parses_samples_and_logprobs():
    with FaultServer() as srv:
        llm = ob.OpenAIBackend(spec(srv.url))
        out = llm.generate([req("one", n=2, logprobs=2), req("two")])
    assert [s.text for s in out[0].samples] == ["echo: one #0", "echo: one #1"]
    assert out[0].samples[0].top_logprobs == [{"echo": -0.1, "Echo": -2.5}]
    assert out[1].text == "echo: two #0" and out[1].samples[0].top_logprobs is None
    assert llm.tokens_generated == 15
    assert len(srv.bodies) == 2


def test_retries_500_and_429_then_recovers(monkeypatch):
    delays = []

    async def record(d):
        delays.append(d)

    monkeypatch.setattr(ob, "_sleep", record)
    monkeypatch.setattr(ob.random, "random", lambda: 1.0)  # no jitter: the schedule is exact
    with FaultServer(["500", "429", "503"]) as srv:
        out = ob.OpenAIBackend(spec(srv.url, backoff_s=0.01, backoff_max_s=1.0)).generate([req()])
    assert out[0].text.startswith("echo:")
    assert len(srv.bodies) == 4
    assert delays == [0.01, 0.02, 0.04]  # exponential


def test_timeout_is_retried():
    with FaultServer([("hang", 2.0)]) as srv:
        out = ob.OpenAIBackend(spec(srv.url, timeout_s=0.5)).generate([req()])
    assert out[0].text.startswith("echo:")
    assert len(srv.bodies) == 2


def test_refused_connection_gives_clear_error_naming_url():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    t0 = time.perf_counter()
    with pytest.raises(BackendError) as e:
        ob.OpenAIBackend(spec(url, max_retries=2)).generate([req(), req("b")])
    assert url in str(e.value) and "unreachable after 3 attempts" in str(e.value)
    assert time.perf_counter() - t0 < 10


def test_server_that_stays_broken_fails_after_bounded_retries():
    with FaultServer(["500"] * 10) as srv:
        with pytest.raises(BackendError, match="HTTP 500"):
            ob.OpenAIBackend(spec(srv.url, max_retries=2)).generate([req()])
    assert len(srv.bodies) == 3


def test_client_error_is_not_retried():
    with FaultServer(["400"]) as srv:
        with pytest.raises(BackendError, match="HTTP 400"):
            ob.OpenAIBackend(spec(srv.url)).generate([req()])
    assert len(srv.bodies) == 1


def test_non_json_answer_is_a_clear_error():
    with FaultServer(["garbage"]) as srv:
        with pytest.raises(BackendError, match="not JSON"):
            ob.OpenAIBackend(spec(srv.url)).generate([req()])


def test_round_robin_skips_a_dead_server():
    dead = f"http://127.0.0.1:{free_port()}/v1"
    with FaultServer() as srv:
        out = ob.OpenAIBackend(spec([dead, srv.url])).generate([req(str(i)) for i in range(6)])
    assert [c.text for c in out] == [f"echo: {i} #0" for i in range(6)]  # order kept
    assert len(srv.bodies) == 6


def test_concurrency_is_bounded():
    with FaultServer(delay=0.1) as srv:
        ob.OpenAIBackend(spec(srv.url, concurrency=2)).generate([req(str(i)) for i in range(8)])
    assert srv.max_in_flight <= 2 and len(srv.bodies) == 8


def test_api_key_only_in_header(monkeypatch, caplog):
    from flows.recipe import recipe_from_dict, recipe_toml

    monkeypatch.setenv("CSYNTH_TEST_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    with FaultServer(["500"] * 3) as srv:
        s = spec(srv.url, api_key_env="CSYNTH_TEST_KEY", max_retries=2)
        with pytest.raises(BackendError) as e:
            ob.OpenAIBackend(s).generate([req()])
    assert srv.auth == [f"Bearer {SECRET}"] * 3
    assert SECRET not in str(e.value) and SECRET not in caplog.text
    assert all(SECRET not in json.dumps(b) for b in srv.bodies)
    recipe = recipe_from_dict({"name": "k", "sampling": {"max_tokens": 8}, "generator": s.model_dump()})
    assert SECRET not in recipe_toml(recipe) and "CSYNTH_TEST_KEY" in recipe_toml(recipe)


def test_missing_key_variable_and_bad_settings(monkeypatch):
    monkeypatch.delenv("CSYNTH_NO_SUCH_KEY", raising=False)
    with pytest.raises(BackendError, match="CSYNTH_NO_SUCH_KEY"):
        ob.OpenAIBackend(spec("http://127.0.0.1:1/v1", api_key_env="CSYNTH_NO_SUCH_KEY"))
    with pytest.raises(ValueError):
        ob.OpenAISpec(api_key_env="sk-abc 123")  # a key pasted in place of a variable name is refused
    with pytest.raises(ValueError):
        ob.OpenAISpec(base_url="localhost:8000")
