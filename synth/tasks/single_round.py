"""The single-round task base: a task says which requests it sends and how it reads each answer; the base sends
them in one backend call and records what went wrong.

A subclass implements `requests(anchors, ctx) -> list[Prompted]` (each request with its typed context: a small
dataclass of the task's own, never an untyped dict) and `parse(prompted, completion) -> Record`. The base turns a
request the backend could not serve (`completion.error`: a 400, no choices, `prompt_too_long`) into a rejected
record with that reason, by calling `parse` and overriding `parse_error`, so a task never writes its own loop or
its own failure bookkeeping. A task whose record is read from several answers (a positive and a negative request)
overrides `records` instead of `parse`, and names the backend's reason with `backend_error`.

Multi-round tasks (ranked chains, scratch anchors) compose rounds with `run_rounds`: round r asks what
`requests_for(r)` builds from the answers so far, in one backend call, and stops when a round has nothing to ask.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, ClassVar, Generic, Sequence, TypeVar

from synth.backends.base import Backend, Completion, Request
from synth.records import Anchor, Record
from synth.tasks.base import TaskContext, TaskSpec

C = TypeVar("C")
S = TypeVar("S", bound=TaskSpec)


@dataclass(frozen=True)
class Prompted(Generic[C]):
    """One request and what the task needs to read its answer."""

    request: Request
    context: C


def ask(llm: Backend, prompted: Sequence[Prompted[C]]) -> list[Completion]:
    """One round: every request in one backend call, answers in request order (none asked: no call)."""
    completions = llm.generate([p.request for p in prompted]) if prompted else []
    if len(completions) != len(prompted):  # a backend bug, not bad output: never pair answers wrongly
        raise RuntimeError(f"{type(llm).__name__} answered {len(completions)} of {len(prompted)} requests")
    return completions


def backend_error(*completions: Completion | None) -> str | None:
    """The first reason the backend gave for a request it could not serve, or None: a record read from several
    answers is rejected with it (not with the "empty" its missing text would parse to)."""
    return next((c.error for c in completions if c is not None and c.error), None)


def run_rounds(
    llm: Backend,
    max_rounds: int,
    requests_for: Callable[[int], Sequence[Prompted[C]]],
    read: Callable[[Prompted[C], Completion], None],
) -> int:
    """Up to `max_rounds` rounds: round r sends `requests_for(r)` (built from what `read` kept of earlier answers)
    in one backend call and hands each answer to `read` in request order. Stops early at a round with nothing to
    ask; returns the number of rounds that asked something."""
    for round_ in range(max_rounds):
        prompted = requests_for(round_)
        if not prompted:
            return round_
        for p, c in zip(prompted, ask(llm, prompted)):
            read(p, c)
    return max_rounds


class SingleRoundTask(Generic[S, C]):
    name: ClassVar[str]

    def __init__(self, spec: S):
        self.spec = spec

    def requests(self, anchors: Sequence[Anchor], ctx: TaskContext) -> list[Prompted[C]]:
        raise NotImplementedError

    def parse(self, prompted: Prompted[C], completion: Completion) -> Record:
        raise NotImplementedError

    def records(self, prompted: list[Prompted[C]], completions: list[Completion]) -> list[Record]:
        """One record per request by default; a task that reads one record from several answers overrides this."""
        return [self._read(p, c) for p, c in zip(prompted, completions)]

    def run(self, anchors: Sequence[Anchor], llm: Backend, ctx: TaskContext) -> list[Record]:
        prompted = self.requests(anchors, ctx)
        return self.records(prompted, ask(llm, prompted))

    def _read(self, prompted: Prompted[C], completion: Completion) -> Record:
        record = self.parse(prompted, completion)
        if completion.error:  # the backend could not serve this request: say why, not "empty"
            return replace(record, parse_error=completion.error)
        return record
