"""An outside package's task, as a user would write it (tests/flows/test_plugins.py installs it on sys.path with
an entry point): one module plus one prompt file, on the single-round task base, registered at import."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from synth.backends.base import Completion, Request, chat_messages
from synth.prompting import load_instructions, render
from synth.records import Anchor, Record
from synth.tasks import register_task
from synth.tasks.base import TaskContext, TaskSpec
from synth.tasks.single_round import Prompted, SingleRoundTask

PROMPTS = str(Path(__file__).parent / "echo_prompt.json")


class EchoSpec(TaskSpec):
    name: Literal["echo"] = "echo"
    style: str = "plainly"
    prompt_variables = {"instructions": ("style", "sentence")}
    instructions: str = PROMPTS


@dataclass(frozen=True)
class EchoContext:
    anchor: Anchor
    prompt_id: str
    seed: int


class EchoTask(SingleRoundTask[EchoSpec, EchoContext]):
    name = "echo"

    def requests(self, anchors: Sequence[Anchor], ctx: TaskContext) -> list[Prompted[EchoContext]]:
        inst = load_instructions(self.spec.instructions)[0]
        return [
            Prompted(
                Request(
                    chat_messages(("user", render(inst, style=self.spec.style, sentence=a.text))),
                    ctx.sampling_for(self.spec),
                ),
                EchoContext(a, inst.id, ctx.seed),
            )
            for a in anchors
        ]

    def parse(self, p: Prompted[EchoContext], completion: Completion) -> Record:
        text = completion.text.strip()
        return Record(
            task=self.name,
            anchor_id=p.context.anchor.id,
            anchor=p.context.anchor.text,
            positive=text or None,
            parse_error=None if text else "echo_empty",
            prompt_ids=[p.context.prompt_id],
            seed=p.context.seed,
        )


register_task("echo", EchoSpec, EchoTask)
