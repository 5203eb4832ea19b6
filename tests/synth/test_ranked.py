"""Ranked lists: graded/chain control flow, CFG requests, fallback, RankGen's list filters (scripted backend)."""

from __future__ import annotations

import pytest
from doubles import ScriptedBackend

from synth.backends.base import BackendError, Sampling
from synth.records import Anchor
from synth.tasks import build_task
from synth.tasks.base import TaskContext
from synth.tasks.ranked import RankedSpec, graded_levels, list_problem

ANCHORS = [Anchor(text="A man is playing a guitar on the street."), Anchor(text="Two dogs run across a field.")]


def ctx() -> TaskContext:
    return TaskContext(seed=5, sampling=Sampling(max_tokens=32), shard="00000")


class Counter(ScriptedBackend):
    """Answers with a fresh sentence per request, so lists never repeat."""

    def __init__(self, supports_guidance: bool = False):
        self.n = 0
        self.requests = []
        self.supports_guidance = supports_guidance
        super().__init__(self._answer)

    def _answer(self, req):
        self.n += 1
        self.requests.append(req)
        return f"Rewritten sentence variant number {self.n} here."


def test_graded_levels_spread_over_the_pool():
    assert graded_levels(5, 6) == [0, 1, 2, 4, 5]
    assert graded_levels(2, 6) == [0, 5]
    assert graded_levels(8, 6)[0] == 0 and graded_levels(8, 6)[-1] == 5


def test_graded_is_one_call_with_one_prompt_per_level():
    llm = Counter()
    out = build_task(RankedSpec(k=3, mode="graded")).run(ANCHORS, llm, ctx())
    assert llm.calls == [6]
    assert [r.ranked_mode for r in out] == ["graded", "graded"]
    assert all(len(r.ranked) == 3 and r.parse_error is None for r in out)
    assert out[0].prompt_ids == ["graded-0", "graded-2", "graded-5"]
    first_prompts = [q.messages[-1]["content"] for q in llm.requests[:3]]
    assert all(ANCHORS[0].text in p for p in first_prompts) and len(set(first_prompts)) == 3
    assert len({q.sampling.seed for q in llm.requests}) == 6


def test_chain_rewrites_the_previous_step_one_call_per_step():
    llm = Counter()
    out = build_task(RankedSpec(k=3, mode="chain")).run(ANCHORS, llm, ctx())
    assert llm.calls == [2, 2, 2]
    assert all(q.guidance is None for q in llm.requests)
    step2_prompt = llm.requests[2].messages[-1]["content"]
    assert out[0].ranked[0] in step2_prompt  # step 2 of anchor 0 rewrites its step 1
    assert out[0].ranked_mode == "chain" and out[0].raw.keys() == {"step_1", "step_2", "step_3"}


def test_guided_chain_sets_previous_prompt_as_negative():
    llm = Counter(supports_guidance=True)
    out = build_task(RankedSpec(k=3, mode="guided_chain", guidance_scale=2.0)).run(ANCHORS[:1], llm, ctx())
    assert [q.guidance is None for q in llm.requests] == [True, False, False]
    g = llm.requests[1].guidance
    assert g.scale == 2.0 and ANCHORS[0].text in g.negative[-1]["content"]  # step 2 steers away from step 1's prompt
    assert out[0].ranked[0] in llm.requests[1].messages[-1]["content"]
    assert llm.requests[2].guidance.negative[-1]["content"] == llm.requests[1].messages[-1]["content"]
    assert out[0].ranked_mode == "guided_chain"


def test_guided_chain_without_cfg_errors_or_falls_back():
    with pytest.raises(BackendError, match="on_unsupported_guidance"):
        build_task(RankedSpec(k=2, mode="guided_chain")).run(ANCHORS, Counter(), ctx())
    llm = Counter()
    out = build_task(RankedSpec(k=2, mode="guided_chain", on_unsupported_guidance="chain")).run(ANCHORS, llm, ctx())
    assert all(q.guidance is None for q in llm.requests)
    assert out[0].ranked_mode == "chain" and out[0].checks["guidance_fallback"] == 1.0


def test_chain_stops_a_list_whose_step_is_unparsable():
    answers = iter(["First rewrite of the sentence.", "", "Second rewrite of the first.", "x"])
    llm = ScriptedBackend(lambda r: next(answers))
    out = build_task(RankedSpec(k=3, mode="chain", repeat_rule="off")).run(ANCHORS, llm, ctx())
    assert llm.calls == [2, 1, 1]
    assert out[1].parse_error == "step1_empty" and out[1].ranked == []
    assert out[0].parse_error is None and len(out[0].ranked) == 3


def test_list_filters():
    spec = RankedSpec(k=3)
    a = "The cat sleeps."
    assert list_problem(a, ["A cat naps.", "The cat rests."], ["A cat naps.", "The cat rests."], spec) is None
    assert list_problem(a, ["A cat naps.", "a cat naps"], ["x", "y"], spec) == "ranked_repeat"
    assert list_problem(a, ["The cat sleeps", "b c d"], ["x", "y"], spec) == "ranked_repeat"  # copy of the anchor
    assert list_problem(a, ["A cat naps."], ["A cat naps.\nExplanation: ..."], spec) == "ranked_newline"
    assert list_problem(a, ["A cat naps."], ["A cat naps.\n"], spec) is None  # trailing whitespace is fine
    rg = RankedSpec(repeat_rule="rankgen")
    assert list_problem(a, ["x y", "z w", "x y"], ["", "", ""], rg) is None  # repeated twice only
    assert list_problem(a, ["x y", "x y", "z", "x y"], ["", "", "", ""], rg) == "ranked_stuck"
    off = RankedSpec(repeat_rule="off", reject_newlines=False)
    assert list_problem(a, ["x", "x"], ["x\ny", "x"], off) is None


def test_repeated_lists_become_recorded_rejections():
    llm = ScriptedBackend(lambda r: "Always the same answer here.")
    out = build_task(RankedSpec(k=3, mode="graded")).run(ANCHORS, llm, ctx())
    assert all(r.parse_error == "ranked_repeat" and len(r.ranked) == 3 for r in out)
    assert len({r.id for r in out}) == 2
