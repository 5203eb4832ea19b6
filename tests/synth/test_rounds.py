"""Round composition (issue 16 item 2): a multi-round task (ranked chains, scratch anchors) is a sequence of
single rounds, each one backend call whose requests may depend on the answers so far; typed contexts travel with
each request, and the loop stops when a round has nothing left to ask."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from doubles import ScriptedBackend

from synth.backends.base import Completion, Request, Sample, Sampling, chat_messages
from synth.tasks.single_round import Prompted, backend_error, run_rounds


@dataclass(frozen=True)
class Step:
    item: int
    step: int


def _req(text: str) -> Request:
    return Request(messages=chat_messages(("user", text)), sampling=Sampling(max_tokens=4))


def test_each_round_is_one_call_built_from_the_answers_so_far_and_stops_when_nothing_is_left():
    history = {0: ["a"], 1: ["b"]}
    llm = ScriptedBackend(lambda r: "" if r.messages[-1]["content"] == "b" else r.messages[-1]["content"] + "+")

    def ask(step: int) -> list[Prompted[Step]]:
        alive = [i for i, h in history.items() if h[-1]]
        return [Prompted(_req(history[i][-1]), Step(i, step)) for i in alive]

    def read(p: Prompted[Step], c: Completion) -> None:
        assert p.context.step == len(history[p.context.item]) - 1  # the context that came with this request
        history[p.context.item].append(c.text)

    assert run_rounds(llm, 5, ask, read) == 5
    assert llm.calls == [2, 1, 1, 1, 1]  # item 1 answered empty in round 1 and is not asked again
    assert history == {0: ["a", "a+", "a++", "a+++", "a++++", "a+++++"], 1: ["b", ""]}

    stopped = ScriptedBackend(lambda r: "")
    assert (
        run_rounds(
            stopped, 5, lambda step: [] if step == 2 else [Prompted(_req("x"), Step(0, step))], lambda p, c: None
        )
        == 2
    )
    assert stopped.calls == [1, 1]  # the round with nothing to ask makes no call


def test_a_backend_that_loses_an_answer_in_a_round_is_an_error():
    class Lossy:
        def generate(self, requests):
            return [Completion([Sample("x")])] * (len(requests) - 1)

    with pytest.raises(RuntimeError, match="answered 1 of 2"):
        run_rounds(
            Lossy(),
            2,
            lambda step: [Prompted(_req("x"), Step(0, 0)), Prompted(_req("y"), Step(1, 0))],
            lambda p, c: None,
        )


def test_backend_error_is_the_first_reason_a_request_was_not_served():
    ok, bad = Completion([Sample("fine")]), Completion([Sample("", "error", error="http_400@x")])
    assert backend_error(ok, None, bad, Completion([Sample("", "error", error="later")])) == "http_400@x"
    assert backend_error(ok, None) is None


def test_no_built_in_task_reads_its_bookkeeping_back_from_request_meta():
    """Per-request context is typed (Prompted.context), not an untyped dict riding on the request."""
    import ast

    import synth.tasks as tasks_pkg

    readers = []
    for path in sorted(Path(tasks_pkg.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "meta":
                readers.append(f"{path.name}:{node.lineno}")
    assert readers == []
