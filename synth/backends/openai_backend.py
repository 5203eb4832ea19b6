"""Any OpenAI-compatible chat server (`vllm serve` first of all) through an async HTTP client.

All requests of a shard go out at once, at most `concurrency` in flight. Connection errors, timeouts, 429, 5xx
and a 200 without usable choices are retried with exponential backoff (on the next URL when several are given;
`Retry-After` is honoured up to `retry_after_max_s`). Each attempt has one wall-clock deadline, `timeout_s`,
covering connect and every read, so a server that trickles bytes cannot hold a request forever. What fails for
one request only (a 400 such as a prompt over the context length, or no usable answer after the retries) comes
back as that request's `error`, recorded by the task as a rejection with the server's reason; the run goes on.
When a server stays unreachable, or every request of a shard failed, the shard fails with a `BackendError`: it is
not saved, so a rerun retries it, and the shards already written stay on disk.
The API key is read from the environment variable *named* by `api_key_env`: the spec (which is written to
recipe.toml and hashed into shard keys) only ever holds that name, and the key goes nowhere but the header.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import logging
import os
import random
import threading
import time
from typing import Any, Literal, Sequence

from pydantic import ConfigDict, Field, field_validator

from synth.backends import BackendSpec, register_backend
from synth.backends.base import BackendError, Completion, Request, Sample, Structured, failed
from synth.embedded import model_hash
from synth.secrets import check_base_url, check_env_name

log = logging.getLogger(__name__)

SEED_STRIDE = 1024  # same spacing as the in-process vLLM backend: vLLM seeds sample k of n with seed + k
RETRY_STATUS = {408, 409, 429} | set(range(500, 600))
REJECT_STATUS = {400, 413, 422}  # the request itself is refused (too long, bad parameter): reject it, go on
_sleep = asyncio.sleep  # tests replace it to observe the backoff schedule


class OpenAISpec(BackendSpec):
    """An OpenAI-compatible endpoint. `model` is the served model name (`synth serve-model` serves the embedded
    checkpoint under its `embedded:` name)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)  # a pasted key never echoes
    backend: Literal["openai"] = "openai"
    base_url: str | list[str] = Field(
        "http://127.0.0.1:8000/v1", description="…/v1 URL; a list spreads requests round-robin over servers"
    )
    api_key_env: str | None = Field(None, description="NAME of the environment variable holding the API key")
    concurrency: int = Field(16, ge=1, le=1024, description="requests in flight at once")
    timeout_s: float = Field(
        300.0,
        gt=0,
        description="wall-clock deadline of one attempt: connect and every "
        "read together (generation of max_tokens included)",
    )
    connect_timeout_s: float = Field(10.0, gt=0)
    max_retries: int = Field(6, ge=0, le=20)
    backoff_s: float = Field(1.0, ge=0, description="first retry delay; doubles per attempt")
    backoff_max_s: float = Field(30.0, ge=0)
    deadline_s: float | None = Field(
        900.0,
        gt=0,
        description="wall-clock limit for one request over all its "
        "attempts and waits; past it the request counts as unreachable",
    )
    retry_after_max_s: float = Field(
        300.0, ge=0, description="longest wait a server's Retry-After is honoured for; a longer one waits this long"
    )

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        return None if v is None else check_env_name(v)

    structured_field: Literal["structured_outputs", "response_format"] = Field(
        "structured_outputs",
        description="vLLM >= 0.11 honours `structured_outputs` (json/choice/regex); other "
        "servers take OpenAI's `response_format` json_schema (json only). Old `guided_*` fields are ignored.",
    )

    @field_validator("base_url")
    @classmethod
    def _urls(cls, v: str | list[str]) -> str | list[str]:
        urls = [v] if isinstance(v, str) else v
        if not urls:
            raise ValueError("give at least one base URL")
        for u in urls:
            check_base_url(u)
            if not u.startswith(("http://", "https://")):
                raise ValueError(f"{u!r} is not an http(s) URL")
        return v

    @property
    def urls(self) -> list[str]:
        return [u.rstrip("/") for u in ([self.base_url] if isinstance(self.base_url, str) else self.base_url)]


def request_body(model: str, req: Request, structured_field: str = "structured_outputs") -> dict[str, Any]:
    """The chat-completions JSON for one request (no credentials in it)."""
    s = req.sampling
    body: dict[str, Any] = {
        "model": model,
        "messages": list(req.messages),
        "max_tokens": s.max_tokens,
        "temperature": s.temperature,
        "top_p": s.top_p,
        "n": s.n,
        "seed": s.seed * SEED_STRIDE,
    }
    if s.stop:
        body["stop"] = list(s.stop)
    if s.logprobs is not None:
        body["logprobs"] = True
        body["top_logprobs"] = s.logprobs
    if req.structured is not None:
        body.update(structured_body(req.structured, structured_field))
    if req.guidance is not None:
        raise BackendError(
            "openai backend: classifier-free guidance (Request.guidance) is not supported by "
            "OpenAI-compatible servers; use the transformers backend or a task mode without guidance"
        )
    return body


def structured_body(st: Structured, field: str) -> dict[str, Any]:
    if field == "response_format":
        if st.kind != "json":
            raise BackendError(
                f"openai backend: structured_field='response_format' only carries JSON schemas, "
                f"not {st.kind!r}; use structured_field='structured_outputs' with vLLM"
            )
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": st.spec, "strict": True},
            }
        }
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
    return Sample(
        text=text.strip(),
        finish_reason=choice.get("finish_reason") or "stop",
        n_tokens=len(content) if content is not None else 0,
        top_logprobs=top,
    )


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
            raise BackendError(
                f"openai backend: environment variable {spec.api_key_env} (generator.api_key_env) is not set"
            )

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
            if isinstance(ans, Completion):  # this request failed alone: its record becomes a rejection
                completions.append(ans)
                continue
            samples = [parse_choice(c) for c in sorted(ans["choices"], key=lambda c: c.get("index", 0))]
            used = (ans.get("usage") or {}).get("completion_tokens")
            if used is not None and samples:
                for smp in samples:
                    smp.n_tokens = smp.n_tokens or round(used / len(samples))
            tokens += used if used is not None else sum(smp.n_tokens for smp in samples)
            completions.append(Completion(samples=samples))
        errors = [c.error for c in completions if c.error]
        if errors and len(errors) == len(completions):
            raise BackendError(
                f"openai backend: all {len(errors)} requests failed, so the shard is not saved and a "
                f"rerun retries it; first error: {errors[0]}"
            )
        self.tokens_generated += tokens
        self.seconds_generating += elapsed
        log.info(
            "openai: %d requests (%d rejected), %d tokens in %.1fs (%.1f tok/s)",
            len(requests),
            len(errors),
            tokens,
            elapsed,
            tokens / max(elapsed, 1e-9),
        )
        return completions

    async def _generate_all(self, bodies: list[dict[str, Any]]) -> list[dict[str, Any] | Completion]:
        import httpx

        sem = asyncio.Semaphore(self.spec.concurrency)
        limits = httpx.Limits(max_connections=self.spec.concurrency, max_keepalive_connections=self.spec.concurrency)
        timeout = httpx.Timeout(self.spec.timeout_s, connect=self.spec.connect_timeout_s)
        async with httpx.AsyncClient(limits=limits, timeout=timeout, headers=self._headers()) as client:

            async def one(body: dict[str, Any]) -> dict[str, Any] | Completion:
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

    async def _post(self, client: Any, body: dict[str, Any]) -> dict[str, Any] | Completion:
        """One request with retries: the server's answer, a `failed` Completion for a per-request fault, or a
        BackendError when the server stays unreachable."""
        import httpx

        urls = self.spec.urls
        start = next(self._rr)
        last, unusable = "", None
        ends = time.monotonic() + (self.spec.deadline_s or float("inf"))
        tried = 0
        for attempt in range(self.spec.max_retries + 1):
            tried = attempt + 1
            url = urls[(start + attempt) % len(urls)] + "/chat/completions"
            delay = min(self.spec.backoff_max_s, self.spec.backoff_s * 2**attempt) * (0.5 + random.random() / 2)
            unusable = None
            try:  # one deadline for connect + every read: a trickling server cannot stretch it
                resp = await asyncio.wait_for(
                    client.post(url, json=body), max(0.001, min(self.spec.timeout_s, ends - time.monotonic()))
                )
            except (httpx.TransportError, asyncio.TimeoutError) as e:  # refused, reset, timed out
                if isinstance(e, asyncio.TimeoutError):
                    e = httpx.TimeoutException(f"no complete answer within timeout_s={self.spec.timeout_s:g}s")
                last = f"{url}: {type(e).__name__}: {e}".rstrip(": ")
            else:
                detail = self._redact(resp.text[:300].replace("\n", " "))
                if resp.status_code == 200:
                    answer, unusable = usable_answer(resp)
                    if answer is not None:
                        return answer
                    last = f"{url}: HTTP 200 {unusable}: {detail[:200]!r}"
                elif resp.status_code in REJECT_STATUS:
                    log.warning(
                        "openai backend: %s answered HTTP %d for one request; its record is rejected: %s",
                        url,
                        resp.status_code,
                        detail,
                    )
                    return failed(f"http_{resp.status_code}@{detail}")
                elif resp.status_code not in RETRY_STATUS:
                    raise BackendError(f"openai backend: {url} answered HTTP {resp.status_code}: {detail}")
                else:
                    last = f"{url}: HTTP {resp.status_code}: {detail}"
                    asked = retry_after_s(resp.headers.get("retry-after", ""))
                    if asked is not None:
                        delay = min(self.spec.retry_after_max_s, max(delay, asked))
                        log.warning(
                            "openai backend: %s asked to wait %.1fs (Retry-After); waiting %.1fs "
                            "(retry_after_max_s=%g)",
                            url,
                            asked,
                            delay,
                            self.spec.retry_after_max_s,
                        )
            if time.monotonic() + delay >= ends:
                last += f" (deadline_s={self.spec.deadline_s:g} reached)"
                break
            if attempt < self.spec.max_retries:
                log.warning(
                    "openai backend: attempt %d/%d failed (%s); retrying in %.1fs",
                    attempt + 1,
                    self.spec.max_retries + 1,
                    last,
                    delay,
                )
                await _sleep(delay)
        if unusable is not None:  # the server answers, but not with choices: this request is rejected
            return failed(f"{unusable}@{last}")
        raise BackendError(
            f"openai backend: server unreachable after {tried} attempts "
            f"(base_url {', '.join(urls)}); last error: {last}"
        )

    def _redact(self, text: str) -> str:
        """A server may echo the key it rejected: never let it into an error or a log line."""
        key = os.environ.get(self.spec.api_key_env) if self.spec.api_key_env else None
        return text.replace(key, "[api key redacted]") if key else text

    def close(self) -> None:
        pass


def usable_answer(resp: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(answer, None) when a 200 carries choices with a message; else (None, reason): gateways answer 200 with an
    error body on upstream failures, which must not pass as an empty completion."""
    try:
        ans = resp.json()
    except ValueError:
        return None, "not_json"
    choices = ans.get("choices") if isinstance(ans, dict) else None
    if not isinstance(choices, list) or not choices:
        return None, "no_choices"
    if not all(isinstance(c, dict) and isinstance(c.get("message"), dict) for c in choices):
        return None, "choice_without_message"
    return ans, None


def retry_after_s(value: str) -> float | None:
    """Seconds a `Retry-After` header asks for (a number or an HTTP date); None when absent or unreadable."""
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


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
