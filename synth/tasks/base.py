"""What a generation task is: settings (a pydantic model named in recipes) and a `run` over a shard.

A task builds all its requests for the shard, hands them to the injected backend in one call (or one
call per round for multi-step tasks such as chains), and parses every completion into a `Record`;
unparsable output becomes a Record with `parse_error` set, never an exception.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Protocol, Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from synth.backends.base import Backend, Sampling
from synth.records import Anchor, Record


class TaskSpec(BaseModel):
    """Settings shared by all tasks; each task adds its own. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # What the task reads, declared so the run plan can order the stages: "anchors" (the anchor shards),
    # "graph" (the knowledge graph, built before generation), "records" (other tasks' records, which it
    # annotates with the same ids; it then runs after them).
    consumes: ClassVar[tuple[str, ...]] = ("anchors",)
    # False for tasks that pass given rows through (existing data): no backend is built for their shards and
    # their rows' provenance names the source instead of a model.
    uses_llm: ClassVar[bool] = True
    # The instruction-pool fields of the settings and the `{variables}` the task fills in them: every pool is
    # checked when the recipe is read (synth/prompting.py::check_instructions).
    prompt_variables: ClassVar[dict[str, tuple[str, ...]]] = {}
    # Those of the fields above that are templates: each instruction must use every declared variable too.
    prompt_templates: ClassVar[tuple[str, ...]] = ()
    name: str
    max_tokens: int | None = Field(None, ge=1, description="overrides [sampling].max_tokens for this task")

    @model_validator(mode="after")
    def _prompt_files_render(self) -> "TaskSpec":
        from synth.prompting import check_instructions

        for name, provided in self.prompt_variables.items():
            try:
                check_instructions(getattr(self, name), provided, name in self.prompt_templates)
            except (OSError, KeyError, json.JSONDecodeError) as e:
                raise ValueError(f"{name} = {getattr(self, name)!r}: cannot read the instruction pool ({e})") from e
        return self


@dataclass
class TaskContext:
    """What a task may use besides its anchors: run seed, default sampling, and other backends by spec."""

    seed: int
    sampling: Sampling
    shard: str = ""
    backend_for: Callable[[Any], Backend] | None = None  # e.g. a judge model different from the generator
    extras: dict[str, Any] = field(default_factory=dict)

    def rng(self, *parts: object) -> random.Random:
        from synth.prompting import request_seed

        return random.Random(request_seed(self.seed, self.shard, *parts))

    def sampling_for(self, spec: TaskSpec, **overrides: Any) -> Sampling:
        from dataclasses import replace

        if spec.max_tokens is not None:
            overrides.setdefault("max_tokens", spec.max_tokens)
        return replace(self.sampling, **overrides)


class Task(Protocol):
    name: ClassVar[str]
    spec: TaskSpec

    def run(self, anchors: Sequence[Anchor], llm: Backend, ctx: TaskContext) -> list[Record]: ...
