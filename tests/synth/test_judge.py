"""Judge task: prompt building, expected-value math, parsing, annotation control flow (scripted backend)."""

from __future__ import annotations

import math

import pytest
from doubles import ScriptedBackend
from pydantic import ValidationError

from synth.backends.base import Completion, Sample, Sampling
from synth.records import Record
from synth.tasks import build_task
from synth.tasks.base import TaskContext
from synth.tasks.judge import JudgeSpec, expected_score, judge_request, parsed_score, read_judgement, score_tokens

VALID = score_tokens(JudgeSpec())


def ctx() -> TaskContext:
    return TaskContext(seed=1, sampling=Sampling(max_tokens=48), shard="00000")


def lp(**probs: float) -> dict[str, float]:
    return {k.replace("_", " "): math.log(v) for k, v in probs.items()}


def test_expected_value_renormalises_over_score_tokens():
    pos = {"4": math.log(0.5), "5": math.log(0.3), " 4": math.log(0.1), "Hello": math.log(0.1)}
    # valid mass: 4 -> 0.6, 5 -> 0.3 ; E = (4*0.6 + 5*0.3) / 0.9
    assert expected_score([pos], VALID) == pytest.approx((4 * 0.6 + 5 * 0.3) / 0.9)


def test_expected_value_skips_words_before_the_number_and_reads_off_scale_argmax():
    steps = [
        {"Score": math.log(0.9), "3": math.log(0.1)},
        {":": math.log(0.8)},
        {" 2": math.log(0.7), " 3": math.log(0.2)},
    ]
    assert expected_score(steps, VALID) == pytest.approx((2 * 0.7 + 3 * 0.2) / 0.9)
    assert expected_score([{"6": math.log(0.6), "5": math.log(0.4)}], VALID) == pytest.approx(5.0)
    assert expected_score([{"6": math.log(0.9), "7": math.log(0.1)}], VALID) is None
    assert expected_score([{"no": 0.0}], VALID) is None
    assert expected_score(None, VALID) is None


def test_parsed_score_must_lie_on_the_scale():
    spec = JudgeSpec()
    assert parsed_score("4", spec) == 4.0
    assert parsed_score("The score is 3.5 because", spec) == 3.5
    assert parsed_score("7", spec) is None
    assert parsed_score("very similar", spec) is None


def test_read_judgement_prefers_expected_value():
    spec = JudgeSpec()
    j = read_judgement(Completion([Sample(text="4", top_logprobs=[{"4": math.log(0.5), "2": math.log(0.5)}])]), spec)
    assert (j.expected, j.parsed, j.value) == (3.0, 4.0, 3.0)
    j = read_judgement(Completion([Sample(text="5")]), spec)
    assert (j.expected, j.parsed, j.value) == (None, 5.0, 5.0)


def test_request_asks_for_logprobs_choice_and_rescaled_exemplars():
    spec = JudgeSpec(score_min=0, score_max=9, exemplars=12)
    req, pid, eids, seed = judge_request("A dog runs.", "A dog is running.", spec, ctx())
    assert req.sampling.logprobs == spec.top_logprobs and req.sampling.max_tokens == 4
    assert req.sampling.temperature == 0.0
    assert req.structured.kind == "choice" and req.structured.spec == [str(i) for i in range(10)]
    assert "from 0" in req.messages[0]["content"] and "to 9" in req.messages[0]["content"]
    assert req.messages[-1]["content"] == "Sentence 1: A dog runs.\nSentence 2: A dog is running."
    answers = {m["content"] for m in req.messages[2:] if m["role"] == "assistant"}
    assert answers <= {str(i) for i in range(10)} and "9" in answers  # 0-5 exemplars rescaled to 0-9
    assert pid == "judge-sts" and len(eids) == 12
    again = judge_request("A dog runs.", "A dog is running.", spec, ctx())
    assert again[0].messages == req.messages and again[3] == seed  # deterministic per pair


def test_scale_validation():
    with pytest.raises(ValidationError):
        JudgeSpec(score_min=5, score_max=5)
    with pytest.raises(ValidationError):
        JudgeSpec(score_max=10)


def _records() -> list[Record]:
    return [
        Record(
            task="pairs",
            anchor_id=f"a{i}",
            anchor=f"Anchor sentence number {i}.",
            positive=f"pos {i}",
            negative=f"neg {i}",
            prompt_ids=["p"],
            seed=i,
        )
        for i in range(3)
    ] + [
        Record(
            task="ranked", anchor_id="a0", anchor="Anchor sentence number 0.", ranked=["r1", "r2"], ranked_mode="graded"
        )
    ]


def test_annotate_fills_scores_keeps_ids_and_adds_random_pairs():
    def script(req):
        text = req.messages[-1]["content"]
        return "5" if "pos" in text else ("1" if "neg" in text else ("I think" if "r2" in text else "3"))

    llm = ScriptedBackend(script, model_id="judge-model")
    recs = _records()
    ids = [r.id for r in recs]
    task = build_task(JudgeSpec(random_pairs=1))
    out = task.annotate(recs, llm, ctx())
    assert llm.calls == [3 * 2 + 2 + 3]  # one generate call: 6 pair texts, 2 ranked members, 3 random pairs
    assert [r.id for r in out[:4]] == ids
    p = out[0]
    assert (p.positive_score, p.negative_score) == (5.0, 1.0)
    assert {s.target for s in p.scores} == {"positive", "negative"} and p.scores[0].model == "judge-model"
    assert p.raw["judge_positive"] == "5" and p.parse_error is None
    ranked = out[3]
    assert [s.target for s in ranked.scores] == ["ranked:0", "ranked:1"]
    assert ranked.parse_error == "judge_ranked_unparsable"  # "I think" holds no number
    pairs = [r for r in out if r.task == "judge"]
    assert len(pairs) == 3 and all(r.text_b and r.text_b != r.anchor and r.pair_score == 3.0 for r in pairs)
    assert len({r.id for r in pairs}) == 3 and all(r.prompt_ids == ["judge-sts"] for r in pairs)


def test_annotate_respects_targets_score_tasks_and_keep_policy():
    llm = ScriptedBackend(lambda r: "no idea")
    spec = JudgeSpec(targets=["positive"], score_tasks=["pairs"], random_pairs=0, on_unparsable="keep")
    out = build_task(spec).annotate(_records(), llm, ctx())
    assert len(out) == 3 and all(r.task == "pairs" for r in out)
    assert all(r.negative_score is None and r.positive_score is None and r.parse_error is None for r in out)
    assert llm.calls == [3]


def test_run_without_records_scores_random_pairs_of_the_anchors():
    from synth.records import Anchor

    anchors = [Anchor(text=f"Sentence {i} about things.") for i in range(4)]
    out = build_task(JudgeSpec(random_pairs=2)).run(anchors, ScriptedBackend(lambda r: "2"), ctx())
    assert len(out) == 8 and all(r.pair_score == 2.0 and r.task == "judge" for r in out)
    assert all(r.scores[0].target == "pair" for r in out)


def test_separate_judge_backend_is_resolved_through_the_context():
    from synth.backends import TransformersSpec

    built = []
    judge_llm = ScriptedBackend(lambda r: "4", model_id="other-judge")
    c = ctx()
    c.backend_for = lambda spec: built.append(spec) or judge_llm
    spec = JudgeSpec(backend=TransformersSpec(model="some/other-model"), random_pairs=0)
    gen = ScriptedBackend(lambda r: "0")
    out = build_task(spec).annotate(_records()[:1], gen, c)
    assert built == [spec.backend] and gen.calls == [] and out[0].positive_score == 4.0
    assert out[0].scores[0].model == "other-judge"
