"""A stub Hugging Face Hub on 127.0.0.1: answers the calls `create_repo` + `upload_folder` make and records
every request (method, path, headers, body), so `synth push` is tested with no network."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HubStub:
    requests: list[Recorded] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def committed_files(self) -> dict[str, bytes]:
        """{path in repo: content} of every file sent inline in commit requests."""
        out = {}
        for r in self.requests:
            if "/commit/" in r.path:
                for line in r.body.decode().splitlines():
                    item = json.loads(line)
                    if item.get("key") == "file":
                        out[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
        return out

    def __enter__(self) -> "HubStub":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                stub.requests.append(
                    Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                payload: Any = {}
                if self.path.startswith("/api/repos/create"):
                    name = json.loads(body or b"{}")
                    kind = name.get("type") or "model"
                    prefix = "" if kind == "model" else f"{kind}s/"
                    payload = {"url": f"{stub.url}/{prefix}{name.get('organization') or 'user'}/{name['name']}"}
                elif "/preupload/" in self.path:
                    files = json.loads(body or b"{}").get("files", [])
                    payload = {
                        "files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]
                    }
                elif "/commit/" in self.path:
                    repo = self.path[len("/api/") :].split("/commit/")[0].removeprefix("models/")
                    payload = {"commitUrl": f"{stub.url}/{repo}/commit/{'0' * 40}", "commitOid": "0" * 40}
                elif self.path.startswith("/api/whoami"):
                    payload = {"name": "user", "type": "user"}
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_HEAD = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
