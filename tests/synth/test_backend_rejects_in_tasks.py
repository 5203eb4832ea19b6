"""A request the backend could not serve (a 400, no choices, prompt_too_long) becomes that record's recorded
reason in every task that reads completions (pairs, ranked, kg_variants, mask_fill, judge, scratch anchors),
instead of a generic `…_empty` (control flow: scripted double; kg_variants against a real HTTP server in
tests/synth/test_kg_variants_task.py)."""

from __future__ import annotations

from doubles import ScriptedBackend

from synth.backends.base import Sampling, failed
from synth.records import Anchor, Record
from synth.tasks import build_task
from synth.tasks.base import TaskContext
from synth.tasks.judge import JudgeSpec
from synth.tasks.kg_variants import KGVariantsSpec
from synth.tasks.mask_fill import MaskFillSpec
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


def test_kg_variants_mask_fill_and_judge_record_the_backends_reason():
    for spec in (KGVariantsSpec(negative_weights={"refute": 1.0}, exemplars=0), MaskFillSpec(rates=[0.0])):
        good, bad = _run(spec)
        assert bad.parse_error == REASON and good.parse_error != REASON, spec.name
    recs = [
        Record(
            task="pairs",
            anchor_id=f"a{i}",
            anchor="A man is riding a horse.",
            positive=p,
            negative="Nobody rides anything.",
        )
        for i, p in enumerate(["A person rides.", "BAD a rider."])
    ]
    good, bad = build_task(JudgeSpec(targets=["positive"], random_pairs=0)).annotate(
        recs, FailingFor(lambda r: "4"), _ctx()
    )
    assert bad.parse_error == REASON and good.parse_error is None and good.positive_score == 4.0


def test_scratch_anchors_rejected_by_the_backend_say_why():
    from synth.tasks.scratch import ScratchSpec, write_anchors

    class AllFailing(ScriptedBackend):
        def generate(self, requests):
            return [failed(REASON) for _ in requests]

    anchors, rejects = write_anchors(ScratchSpec(anchors=2, oversample=1.0, max_rounds=1), AllFailing(), seed=1)
    assert anchors == [] and [r.reason for r in rejects] == [REASON, REASON]
