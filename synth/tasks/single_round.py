"""The single-round task base: a task says which requests it sends and how it reads each answer; the base sends
them in one backend call and records what went wrong.

A subclass implements `requests(anchors, ctx) -> list[Prompted]` (each request with its typed context: a small
dataclass of the task's own, never an untyped dict) and `parse(prompted, completion) -> Record`. The base turns a
request the backend could not serve (`completion.error`: a 400, no choices, `prompt_too_long`) into a rejected
record with that reason, by calling `parse` and overriding `parse_error`, so a task never writes its own loop or
its own failure bookkeeping. Multi-round tasks (chains) run several such rounds in their own `run`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, Generic, Sequence, TypeVar

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


class SingleRoundTask(Generic[S, C]):
    name: ClassVar[str]

    def __init__(self, spec: S):
        self.spec = spec

    def requests(self, anchors: Sequence[Anchor], ctx: TaskContext) -> list[Prompted[C]]:
        raise NotImplementedError

    def parse(self, prompted: Prompted[C], completion: Completion) -> Record:
        raise NotImplementedError

    def run(self, anchors: Sequence[Anchor], llm: Backend, ctx: TaskContext) -> list[Record]:
        prompted = self.requests(anchors, ctx)
        completions = llm.generate([p.request for p in prompted]) if prompted else []
        if len(completions) != len(prompted):  # a backend bug, not bad output: never pair answers wrongly
            raise RuntimeError(f"{type(llm).__name__} answered {len(completions)} of {len(prompted)} requests")
        return [self._read(p, c) for p, c in zip(prompted, completions)]

    def _read(self, prompted: Prompted[C], completion: Completion) -> Record:
        record = self.parse(prompted, completion)
        if completion.error:  # the backend could not serve this request: say why, not "empty"
            return replace(record, parse_error=completion.error)
        return record

