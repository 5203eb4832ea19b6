"""A fault-injecting OpenAI-compatible chat server on 127.0.0.1 for tests (bounded: every fault ends in seconds).

Each request's action comes from, in order: `rules` (the first (substring, action) whose substring is in the
last user message), then `script` (consumed one entry per request), else "ok". Actions:
"ok"; "500", "503", "401"... (that status with an error body); "429" (Retry-After 0); ("429", "<retry-after>");
"400" (a context-length refusal naming the token count; "400-echo-key" adds the bearer key, as some gateways do);
"nochoices" (200 with an error body, as gateways answer upstream failures); "garbage" (200, not JSON);
("hang", s) then ok; ("trickle", s): a 200 whose body arrives one byte at a time over s seconds.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

MAX_FAULT_S = 30.0  # no injected wait lasts longer: a test can never hang on this server


def sentence_answer(body: dict) -> dict:
    """Answers that pass the rules filter: a positive or a negative per the instruction, one per choice."""
    asks_negative = "contradict" in json.dumps(body["messages"][0]).lower()
    text = "Nobody is outside in the rain today." if asks_negative else "A person is spending time outdoors today."
    return {
        "choices": [
            {"index": k, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            for k in range(body.get("n", 1))
        ],
        "usage": {"completion_tokens": 8 * body.get("n", 1)},
    }


def echo_answer(body: dict) -> dict:
    text = "echo: " + body["messages"][-1]["content"]
    choices = []
    for k in range(body.get("n", 1)):
        c: dict[str, Any] = {
            "index": k,
            "message": {"role": "assistant", "content": f"{text} #{k}"},
            "finish_reason": "stop",
        }
        if body.get("logprobs"):
            c["logprobs"] = {
                "content": [
                    {
                        "token": "echo",
                        "logprob": -0.1,
                        "top_logprobs": [{"token": "echo", "logprob": -0.1}, {"token": "Echo", "logprob": -2.5}],
                    }
                ]
            }
        choices.append(c)
    return {"choices": choices, "usage": {"completion_tokens": 5 * len(choices)}}


class FaultServer:
    def __init__(
        self,
        script=(),
        delay: float = 0.0,
        rules: list[tuple[str, Any]] | None = None,
        answer: Callable[[dict], dict] = echo_answer,
    ):
        self.script = list(script)
        self.rules = list(rules or [])
        self.delay = delay
        self.answer = answer
        self.bodies: list[dict] = []
        self.actions: list[Any] = []
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
                    action = outer.pick(body)
                    outer.actions.append(action)
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                self.counted = True
                try:
                    self.act(action, body)
                finally:
                    self.done()

            def done(self):
                """Out of flight once the answer can reach the client: a client that gets it may send its next
                request before this thread returns, which must not count as a third request in flight."""
                with outer.lock:
                    if getattr(self, "counted", False):
                        outer.in_flight -= 1
                        self.counted = False

            def act(self, action, body):
                if isinstance(action, tuple) and action[0] == "hang":
                    time.sleep(min(action[1], MAX_FAULT_S))
                    action = "ok"
                time.sleep(outer.delay)
                if isinstance(action, tuple) and action[0] == "trickle":
                    return self._trickle(json.dumps(outer.answer(body)).encode(), min(action[1], MAX_FAULT_S))
                if isinstance(action, tuple) and action[0] == "429":
                    return self._send(429, {"error": {"message": "rate limited"}}, {"Retry-After": action[1]})
                if action == "ok":
                    return self._send(200, outer.answer(body))
                if action == "garbage":
                    return self._send(200, None, raw=b"<html>proxy error</html>")
                if action == "nochoices":
                    return self._send(200, {"object": "error", "message": "upstream model crashed", "code": 502})
                if action in ("400", "400-echo-key"):
                    echo = f" (key {self.headers.get('Authorization', '')[7:]})" if action == "400-echo-key" else ""
                    return self._send(
                        400,
                        {
                            "object": "error",
                            "message": "This model's maximum context length is "
                            f"2048 tokens. However, you requested 4242 tokens.{echo}",
                            "code": 400,
                        },
                    )
                code = int(action)
                self._send(
                    code, {"error": {"message": f"injected {code}"}}, {"Retry-After": "0"} if code == 429 else {}
                )

            def _trickle(self, data: bytes, seconds: float):
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.flush()
                    step = seconds / max(len(data), 1)
                    for i in range(len(data)):
                        self.wfile.write(data[i : i + 1])
                        self.wfile.flush()
                        time.sleep(step)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, code, payload, headers=None, raw=None):
                data = raw if raw is not None else json.dumps(payload).encode()
                try:
                    self.send_response(code)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.done()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def pick(self, body: dict) -> Any:
        last = body["messages"][-1]["content"]
        for needle, action in self.rules:
            if needle in last:
                return action
        return self.script.pop(0) if self.script else "ok"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
