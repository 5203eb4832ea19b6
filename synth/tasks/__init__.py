"""Task registry: recipes name tasks in `[[tasks]]`; each name maps to (settings model, task class) in the
generic registry (synth/registry.py), where plugins add their own."""

from __future__ import annotations

from typing import Any

from synth.registry import Registry
from synth.tasks.base import Task, TaskContext, TaskSpec
from synth.tasks.existing import ExistingSpec, ExistingTask
from synth.tasks.judge import JudgeSpec, JudgeTask
from synth.tasks.kg_variants import KGVariantsSpec, KGVariantsTask
from synth.tasks.mask_fill import MaskFillSpec, MaskFillTask
from synth.tasks.pairs import PairsSpec, PairsTask
from synth.tasks.ranked import RankedSpec, RankedTask

TASKS = Registry("task")
TASKS.register("pairs", PairsSpec, PairsTask)
TASKS.register("kg_variants", KGVariantsSpec, KGVariantsTask)
TASKS.register("ranked", RankedSpec, RankedTask)
TASKS.register("mask_fill", MaskFillSpec, MaskFillTask)  # CLAIF mask-and-fill pairs (text_b), scored by the judge
TASKS.register("existing", ExistingSpec, ExistingTask)  # rows of an existing paired corpus, no generation
TASKS.register("judge", JudgeSpec, JudgeTask)  # annotating: scores the other tasks' records


def register_task(name: str, spec_cls: type[TaskSpec], task_cls: type | str) -> None:
    TASKS.register(name, spec_cls, task_cls)


def task_spec_type() -> Any:
    """The pydantic type of one `[[tasks]]` entry: a union discriminated by `name`."""
    return TASKS.spec_type()


def build_task(spec: TaskSpec) -> Task:
    _, cls = TASKS[spec.name]
    return cls(spec)


__all__ = ["TASKS", "Task", "TaskContext", "TaskSpec", "build_task", "register_task", "task_spec_type"]
