"""Any OpenAI-compatible chat server (`vllm serve` first of all) through an async HTTP client.

All requests of a shard go out at once, at most `concurrency` in flight. Connection errors, timeouts, 429 and
5xx are retried with exponential backoff (on the next URL when several are given); when a server stays
unreachable the shard fails with a `BackendError` naming the URL, and the shards already written stay on disk.
The API key is read from the environment variable *named* by `api_key_env`: the spec (which is written to
recipe.toml and hashed into shard keys) only ever holds that name, and the key goes nowhere but the header.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import threading
import time
from typing import Any, Literal, Sequence

from pydantic import Field, field_validator

from synth.backends import BackendSpec, register_backend
from synth.backends.base import BackendError, Completion, Request, Sample, Structured
from synth.embedded import model_hash

log = logging.getLogger(__name__)

SEED_STRIDE = 1024  # same spacing as the in-process vLLM backend: vLLM seeds sample k of n with seed + k
RETRY_STATUS = {408, 409, 429} | set(range(500, 600))
_sleep = asyncio.sleep  # tests replace it to observe the backoff schedule


class OpenAISpec(BackendSpec):
    """An OpenAI-compatible endpoint. `model` is the served model name (`synth serve-model` serves the embedded
    checkpoint under its `embedded:` name)."""

    backend: Literal["openai"] = "openai"
    base_url: str | list[str] = Field("http://127.0.0.1:8000/v1",
                                      description="…/v1 URL; a list spreads requests round-robin over servers")
    api_key_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                                    description="NAME of the environment variable holding the API key")
    concurrency: int = Field(16, ge=1, le=1024, description="requests in flight at once")
    timeout_s: float = Field(300.0, gt=0, description="per request (generation of max_tokens included)")
    connect_timeout_s: float = Field(10.0, gt=0)
    max_retries: int = Field(6, ge=0, le=20)
    backoff_s: float = Field(1.0, ge=0, description="first retry delay; doubles per attempt")
    backoff_max_s: float = Field(30.0, ge=0)
    structured_field: Literal["structured_outputs", "response_format"] = Field(
        "structured_outputs", description="vLLM >= 0.11 honours `structured_outputs` (json/choice/regex); other "
        "servers take OpenAI's `response_format` json_schema (json only). Old `guided_*` fields are ignored.")

    @field_validator("base_url")
    @classmethod
    def _urls(cls, v: str | list[str]) -> str | list[str]:
        urls = [v] if isinstance(v, str) else v
        if not urls:
            raise ValueError("give at least one base URL")
        for u in urls:
            if not u.startswith(("http://", "https://")):
                raise ValueError(f"{u!r} is not an http(s) URL")
        return v

    @property
    def urls(self) -> list[str]:
        return [u.rstrip("/") for u in ([self.base_url] if isinstance(self.base_url, str) else self.base_url)]


def request_body(model: str, req: Request, structured_field: str = "structured_outputs") -> dict[str, Any]:
    """The chat-completions JSON for one request (no credentials in it)."""
    s = req.sampling
    body: dict[str, Any] = {"model": model, "messages": list(req.messages), "max_tokens": s.max_tokens,
                            "temperature": s.temperature, "top_p": s.top_p, "n": s.n, "seed": s.seed * SEED_STRIDE}
    if s.stop:
        body["stop"] = list(s.stop)
    if s.logprobs is not None:
        body["logprobs"] = True
        body["top_logprobs"] = s.logprobs
    if req.structured is not None:
        body.update(structured_body(req.structured, structured_field))
    if req.guidance is not None:
        raise BackendError("openai backend: classifier-free guidance (Request.guidance) is not supported by "
                           "OpenAI-compatible servers; use the transformers backend or a task mode without guidance")
    return body


def structured_body(st: Structured, field: str) -> dict[str, Any]:
    if field == "response_format":
        if st.kind != "json":
            raise BackendError(f"openai backend: structured_field='response_format' only carries JSON schemas, "
                               f"not {st.kind!r}; use structured_field='structured_outputs' with vLLM")
        return {"response_format": {"type": "json_schema",
                                    "json_schema": {"name": "output", "schema": st.spec, "strict": True}}}
    value = {"json": st.spec, "choice": list(st.spec) if st.kind == "choice" else None, "regex": st.spec}[st.kind]
    extra = {"disable_any_whitespace": True} if st.kind == "json" else {}
    return {"structured_outputs": {st.kind: value, **extra}}


def parse_choice(choice: dict[str, Any]) -> Sample:
    top = None
    content = (choice.get("logprobs") or {}).get("content")
    if content is not None:
        top = []
        for step in content:  # the server lists the top-k best first; equal token texts keep the best
            d: dict[str, float] = {}
            for t in step.get("top_logprobs") or []:
                d.setdefault(t["token"], float(t["logprob"]))
            top.append(d)
    text = (choice.get("message") or {}).get("content") or ""
    return Sample(text=text.strip(), finish_reason=choice.get("finish_reason") or "stop",
                  n_tokens=len(content) if content is not None else 0, top_logprobs=top)


class OpenAIBackend:
    name = "openai"
    supports_guidance = False

    def __init__(self, spec: OpenAISpec):
        self.spec = spec
        self.model_id = spec.model
        self.model_hash = model_hash(spec.model)
        self.tokens_generated = 0
        self.seconds_generating = 0.0
        self._rr = itertools.count()
        if spec.api_key_env and not os.environ.get(spec.api_key_env):
            raise BackendError(f"openai backend: environment variable {spec.api_key_env} (generator.api_key_env) "
                               "is not set")

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.spec.api_key_env) if self.spec.api_key_env else None
        return {"Authorization": f"Bearer {key}"} if key else {}

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        if not requests:
            return []
        bodies = [request_body(self.spec.model, r, self.spec.structured_field) for r in requests]
        t0 = time.perf_counter()
        answers = run_sync(self._generate_all(bodies))
        elapsed = time.perf_counter() - t0
        completions, tokens = [], 0
        for ans in answers:
            samples = [parse_choice(c) for c in sorted(ans.get("choices") or [], key=lambda c: c.get("index", 0))]
            used = (ans.get("usage") or {}).get("completion_tokens")
            if used is not None and samples:
                for smp in samples:
                    smp.n_tokens = smp.n_tokens or round(used / len(samples))
            tokens += used if used is not None else sum(smp.n_tokens for smp in samples)
            completions.append(Completion(samples=samples or [Sample(text="", finish_reason="error")]))
        self.tokens_generated += tokens
        self.seconds_generating += elapsed
        log.info("openai: %d requests, %d tokens in %.1fs (%.1f tok/s)", len(requests), tokens, elapsed,
                 tokens / max(elapsed, 1e-9))
        return completions

    async def _generate_all(self, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        import httpx

        sem = asyncio.Semaphore(self.spec.concurrency)
        limits = httpx.Limits(max_connections=self.spec.concurrency, max_keepalive_connections=self.spec.concurrency)
        timeout = httpx.Timeout(self.spec.timeout_s, connect=self.spec.connect_timeout_s)
        async with httpx.AsyncClient(limits=limits, timeout=timeout, headers=self._headers()) as client:

            async def one(body: dict[str, Any]) -> dict[str, Any]:
                async with sem:
                    return await self._post(client, body)

            tasks = [asyncio.ensure_future(one(b)) for b in bodies]
            try:
                return list(await asyncio.gather(*tasks))
            except BaseException:  # the first failure cancels the rest of the shard
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise

    async def _post(self, client: Any, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        urls = self.spec.urls
        start = next(self._rr)
        last = ""
        for attempt in range(self.spec.max_retries + 1):
            url = urls[(start + attempt) % len(urls)] + "/chat/completions"
            delay = min(self.spec.backoff_max_s, self.spec.backoff_s * 2 ** attempt) * (0.5 + random.random() / 2)
            try:
                resp = await client.post(url, json=body)
            except httpx.TransportError as e:  # refused, reset, timed out
                last = f"{url}: {type(e).__name__}: {e}".rstrip(": ")
            else:
                if resp.status_code == 200:
                    try:
                        return resp.json()
                    except ValueError:
                        raise BackendError(f"openai backend: {url} answered 200 with a body that is not JSON: "
                                           f"{self._redact(resp.text[:200])!r}") from None
                detail = self._redact(resp.text[:300].replace("\n", " "))
                if resp.status_code not in RETRY_STATUS:
                    raise BackendError(f"openai backend: {url} answered HTTP {resp.status_code}: {detail}")
                last = f"{url}: HTTP {resp.status_code}: {detail}"
                retry_after = resp.headers.get("retry-after", "")
                if retry_after.replace(".", "", 1).isdigit():
                    delay = min(self.spec.backoff_max_s, max(delay, float(retry_after)))
            if attempt < self.spec.max_retries:
                log.warning("openai backend: attempt %d/%d failed (%s); retrying in %.1fs", attempt + 1,
                            self.spec.max_retries + 1, last, delay)
                await _sleep(delay)
        raise BackendError(f"openai backend: server unreachable after {self.spec.max_retries + 1} attempts "
                           f"(base_url {', '.join(urls)}); last error: {last}")

    def _redact(self, text: str) -> str:
        """A server may echo the key it rejected: never let it into an error or a log line."""
        key = os.environ.get(self.spec.api_key_env) if self.spec.api_key_env else None
        return text.replace(key, "[api key redacted]") if key else text

    def close(self) -> None:
        pass


def run_sync(coro: Any) -> Any:
    """Run a coroutine to completion from sync code, also when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


register_backend("openai", OpenAISpec, OpenAIBackend)
