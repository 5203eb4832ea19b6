"""A request the backend could not serve (a 400, no choices, prompt_too_long) becomes that record's recorded
reason in every task that reads completions, instead of a generic `…_empty` (control flow: scripted double)."""
from __future__ import annotations

from doubles import ScriptedBackend

from synth.backends.base import Sampling, failed
from synth.records import Anchor
from synth.tasks import build_task
from synth.tasks.base import TaskContext
from synth.tasks.pairs import PairsSpec
from synth.tasks.ranked import RankedSpec

REASON = "http_400@This model's maximum context length is 2048 tokens"


class FailingFor(ScriptedBackend):
    """Answers like ScriptedBackend, except requests mentioning BAD get the backend's failure."""

    def generate(self, requests):
        out = super().generate(requests)
        return [failed(REASON) if "BAD" in r.messages[-1]["content"] else c for r, c in zip(requests, out)]


def _ctx():
    return TaskContext(seed=1, sampling=Sampling(max_tokens=16), shard="00000")


def _run(spec):
    anchors = [Anchor("A man is riding a horse on the beach."), Anchor("BAD a woman is reading a long book.")]
    return build_task(spec).run(anchors, FailingFor(lambda r: "A person is doing something outside."), _ctx())


def test_pairs_text_and_json_record_the_backends_reason():
    for spec in (PairsSpec(exemplars=0), PairsSpec(exemplars=0, output="json")):
        good, bad = _run(spec)
        assert bad.parse_error == REASON, spec.output
        assert good.parse_error != REASON


def test_ranked_records_the_backends_reason():
    good, bad = _run(RankedSpec(k=2))
    assert bad.parse_error == REASON and good.parse_error != REASON
