"""The one interface every LLM backend implements: batched chat generation.

A task builds `Request`s for a whole shard and hands them to `Backend.generate` in one call; the
backend decides how to batch (one `LLM.chat`, an async fan-out, or padded `generate` batches).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, Sequence, runtime_checkable

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}


class BackendError(RuntimeError):
    """A backend could not answer (server down, model missing); finished shards stay on disk."""


@dataclass(frozen=True)
class Sampling:
    """Sampling settings; max_tokens is always explicit (vLLM's default of 16 truncates silently)."""

    max_tokens: int
    temperature: float = 0.7
    top_p: float = 0.9
    seed: int = 0
    n: int = 1
    stop: tuple[str, ...] = ()
    logprobs: int | None = None  # top-k log-probabilities per generated token, when a task needs them


@dataclass(frozen=True)
class Structured:
    """Constrain the output's shape: a flat JSON schema, one of fixed choices, or a regex."""

    kind: Literal["json", "choice", "regex"]
    spec: Any  # dict (JSON schema) | list[str] | str


@dataclass(frozen=True)
class Guidance:
    """Classifier-free guidance: logits = neg + scale * (pos - neg), with `negative` as the contrast prompt."""

    negative: tuple[Message, ...]
    scale: float = 1.5


@dataclass(frozen=True)
class Request:
    messages: tuple[Message, ...]
    sampling: Sampling
    structured: Structured | None = None
    guidance: Guidance | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Sample:
    text: str
    finish_reason: str = "stop"  # "stop" | "length" | "error"
    n_tokens: int = 0
    top_logprobs: list[dict[str, float]] | None = None  # per generated token: token text -> logprob
    error: str | None = None  # why this request got no answer ("prompt_too_long@...", "http_400@..."): a reject


def failed(reason: str) -> "Completion":
    """The answer for a request the backend could not serve: recorded by the task as a rejection, not raised."""
    return Completion(samples=[Sample(text="", finish_reason="error", error=reason)])


@dataclass
class Completion:
    samples: list[Sample]

    @property
    def text(self) -> str:
        return self.samples[0].text if self.samples else ""

    @property
    def error(self) -> str | None:
        return next((s.error for s in self.samples if s.error), None)


@runtime_checkable
class Backend(Protocol):
    """Generates completions for a batch of requests; one instance per process (engines load once)."""

    name: str
    model_id: str
    model_hash: str

    def generate(self, requests: Sequence[Request]) -> list[Completion]: ...

    def close(self) -> None: ...


def chat_messages(*turns: tuple[str, str]) -> tuple[Message, ...]:
    """Build an immutable message tuple from (role, content) pairs."""
    return tuple({"role": role, "content": content} for role, content in turns)
