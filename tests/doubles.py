"""A scripted LLM double for unit tests of parsing and control flow (never evidence a feature works)."""

from __future__ import annotations

from typing import Callable, Sequence

from synth.backends.base import Completion, Request, Sample


class ScriptedBackend:
    """Answers each request with `script(request)`; counts calls so tests can assert batching."""

    name = "scripted"

    def __init__(self, script: Callable[[Request], str | list[str]] | None = None, model_id: str = "scripted"):
        self.script = script or (lambda r: r.messages[-1]["content"])
        self.model_id = model_id
        self.model_hash = "scripted"
        self.calls: list[int] = []
        self.tokens_generated = 0

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        self.calls.append(len(requests))
        out = []
        for r in requests:
            texts = self.script(r)
            texts = [texts] if isinstance(texts, str) else texts
            samples = [Sample(text=t, n_tokens=len(t.split())) for t in texts[: r.sampling.n] or [""]]
            self.tokens_generated += sum(s.n_tokens for s in samples)
            out.append(Completion(samples=samples))
        return out

    def close(self) -> None:
        pass
