"""An outside package's task, as a user would write it (tests/flows/test_plugins.py installs it on sys.path with
an entry point): one module plus one prompt file, registered at import."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, Sequence

from synth.backends.base import Request, chat_messages
from synth.records import Anchor, Record
from synth.tasks import register_task
from synth.tasks.base import TaskContext, TaskSpec

PROMPT = json.loads((Path(__file__).parent / "echo_prompt.json").read_text(encoding="utf-8"))


class EchoSpec(TaskSpec):
    name: Literal["echo"] = "echo"
    style: str = "plainly"


class EchoTask:
    name = "echo"

    def __init__(self, spec: EchoSpec):
        self.spec = spec

    def run(self, anchors: Sequence[Anchor], llm, ctx: TaskContext) -> list[Record]:
        sampling = ctx.sampling_for(self.spec)
        requests = [Request(chat_messages(("user", PROMPT["text"].format(style=self.spec.style, sentence=a.text))),
                            sampling) for a in anchors]
        return [Record(task=self.name, anchor_id=a.id, anchor=a.text, positive=c.text.strip() or None,
                       parse_error=None if c.text.strip() else "echo_empty", prompt_ids=[PROMPT["id"]], seed=ctx.seed)
                for a, c in zip(anchors, llm.generate(requests))]


register_task("echo", EchoSpec, EchoTask)
