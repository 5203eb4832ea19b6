"""The single-round task base (issue 16 item 2): one backend call, typed per-request context, the backend's
reason recorded for a request it could not serve, and answers never paired with the wrong request."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from synth.backends.base import Completion, Sample, Sampling, failed
from synth.records import Anchor
from synth.tasks.base import TaskContext

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugin_fixture"))
from echo_plugin import EchoSpec, EchoTask  # noqa: E402

ANCHORS = [Anchor("A man plays a guitar."), Anchor("Two kids read a book.")]


class Answers:
    """Answers in order; `None` is a request the server refused (a 400)."""

    def __init__(self, *texts: str | None, drop: int = 0):
        self.texts, self.drop, self.calls = texts, drop, []

    def generate(self, requests):
        self.calls.append([r.messages[-1]["content"] for r in requests])
        out = [failed("http_400@server: context length") if t is None else Completion([Sample(t)]) for t in self.texts]
        return out[: len(out) - self.drop]


def ctx() -> TaskContext:
    return TaskContext(seed=3, sampling=Sampling(max_tokens=8), shard="0")


def test_one_call_the_exact_prompts_and_the_backends_reason_kept():
    llm = Answers("A man makes music.", None)
    recs = EchoTask(EchoSpec(style="loudly")).run(ANCHORS, llm, ctx())
    assert llm.calls == [
        [
            "Say this sentence again, loudly: A man plays a guitar.",
            "Say this sentence again, loudly: Two kids read a book.",
        ]
    ]
    assert [(r.positive, r.parse_error, r.prompt_ids) for r in recs] == [
        ("A man makes music.", None, ["echo-v1"]),
        (None, "http_400@server: context length", ["echo-v1"]),
    ]


def test_a_backend_that_loses_an_answer_is_an_error_not_a_shifted_pairing():
    with pytest.raises(RuntimeError, match="answered 1 of 2"):
        EchoTask(EchoSpec()).run(ANCHORS, Answers("x", "y", drop=1), ctx())
