"""Task registry: recipes name tasks in `[[tasks]]`; each name maps to (settings model, task class)."""
from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field

from synth.tasks.base import Task, TaskContext, TaskSpec
from synth.tasks.existing import ExistingSpec, ExistingTask
from synth.tasks.mask_fill import MaskFillSpec, MaskFillTask
from synth.tasks.kg_variants import KGVariantsSpec, KGVariantsTask
from synth.tasks.judge import JudgeSpec, JudgeTask
from synth.tasks.pairs import PairsSpec, PairsTask
from synth.tasks.ranked import RankedSpec, RankedTask

TASKS: dict[str, tuple[type[TaskSpec], type]] = {
    "pairs": (PairsSpec, PairsTask),
    "kg_variants": (KGVariantsSpec, KGVariantsTask),
    "ranked": (RankedSpec, RankedTask),
    "mask_fill": (MaskFillSpec, MaskFillTask),  # CLAIF mask-and-fill pairs (text_b), scored by the judge
    "existing": (ExistingSpec, ExistingTask),  # rows of an existing paired corpus ([corpus] kind), no generation
    "judge": (JudgeSpec, JudgeTask),  # annotating: scores the other tasks' records (see flows/synthesize.py)
}


def register_task(name: str, spec_cls: type[TaskSpec], task_cls: type) -> None:
    TASKS[name] = (spec_cls, task_cls)


def task_spec_type() -> Any:
    """The pydantic type of one `[[tasks]]` entry: a union discriminated by `name`."""
    specs = tuple(spec for spec, _ in TASKS.values())
    if len(specs) == 1:
        return specs[0]
    return Annotated[Union[specs], Field(discriminator="name")]  # type: ignore[valid-type]


def build_task(spec: TaskSpec) -> Task:
    _, cls = TASKS[spec.name]
    return cls(spec)


__all__ = ["TASKS", "Task", "TaskContext", "TaskSpec", "build_task", "register_task", "task_spec_type"]
