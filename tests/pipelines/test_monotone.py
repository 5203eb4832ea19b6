"""Monotonicity checks of ranked lists (encoder and judge), the annotation plan and the card section."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipelines.anchors import write_anchor_shards
from pipelines.filters.base import empty_columns
from pipelines.filters.monotone import MonotoneFilter, MonotoneSpec, monotone
from pipelines.plan import plan_task_jobs
from pipelines.runplan import plan_stages
from pipelines.shards import set_aside_unplanned
from pipelines.synthesis_card import section
from synth.backends import TransformersSpec
from synth.backends.base import Sampling
from synth.records import Anchor, Record, Score
from synth.tasks.judge import JudgeSpec
from synth.tasks.pairs import PairsSpec
from synth.tasks.ranked import RankedSpec


class AngleEncoder:
    """Sentence 'k deg' -> unit vector at k degrees: cos to '0 deg' falls as k grows."""

    def encode(self, texts, **_):
        ang = [np.deg2rad(float(t.split()[0])) for t in texts]
        return np.array([[np.cos(a), np.sin(a)] for a in ang])


def test_monotone_helper():
    assert monotone([0.9, 0.8, 0.8, 0.1]) == (True, 1.0)
    assert monotone([0.9, 0.95, 0.1]) == (False, 0.5)
    assert monotone([0.9, 0.95], tolerance=0.1)[0]


def test_filter_stores_checks_and_rejects_only_when_configured():
    good = Record(
        task="ranked",
        anchor_id="a",
        anchor="0 deg",
        ranked=["10 deg", "30 deg", "80 deg"],
        scores=[Score(f"ranked:{i}", "", e, None) for i, e in enumerate([4.5, 3.0, 3.2])],
    )
    bad = Record(task="ranked", anchor_id="b", anchor="0 deg", ranked=["40 deg", "20 deg"])
    pair = Record(task="pairs", anchor_id="c", anchor="0 deg", positive="5 deg", negative="90 deg")
    flt = MonotoneFilter(MonotoneSpec(), encoder=AngleEncoder())
    columns = empty_columns(3)
    out = flt.verdicts(flt.annotator.annotate([good, bad, pair], columns), columns)
    assert out == [None, None, None] == flt.verdicts([good, bad, pair])
    assert columns["ranked_monotone_encoder"] == [True, False, None]  # typed columns (schema v2), not checks
    assert columns["ranked_monotone_judge"][0] is False and columns["ranked_order_judge"][0] == 0.5
    assert columns["ranked_monotone_judge"][1:] == [None, None] and good.checks == bad.checks == pair.checks == {}
    strict = MonotoneFilter(MonotoneSpec(reject_encoder=True, reject_judge=True), encoder=AngleEncoder())
    assert strict.verdicts([good, bad, pair]) == ["not_monotone_judge", "not_monotone_encoder", None]


def _stages(*tasks):
    return [
        (s.name, s.inputs)
        for s in plan_stages(tasks, scratch=False, knowledge_graph=False, train=False, evaluate=False)
    ]


def test_annotation_jobs_read_same_index_shards_and_key_on_them(tmp_path):
    anchors = [Anchor(text=f"Sentence number {i} is here.") for i in range(6)]
    shards = write_anchor_shards(anchors, tmp_path / "anchors", 3)
    gen_specs = [PairsSpec(), RankedSpec(k=2)]
    judge = JudgeSpec(score_tasks=["pairs"])
    # declared consumption orders the stages: the judge after the task it scores, whatever the recipe order
    assert _stages(judge, *gen_specs) == [
        ("anchors", []),
        ("generate:pairs", ["anchors"]),
        ("generate:ranked", ["anchors"]),
        ("annotate:judge", ["anchors", "generate:pairs"]),
        ("curate", ["generate:pairs", "generate:ranked", "annotate:judge"]),
    ]
    args = (TransformersSpec(), Sampling(max_tokens=8), 1, "h", tmp_path / "generated")

    def plan(pairs_spec):
        gen = plan_task_jobs(pairs_spec, shards, *args)
        return gen, plan_task_jobs(judge, shards, *args, inputs={i: [gen[i].out_path] for i in range(len(shards))})

    gen, jobs = plan(gen_specs[0])
    assert [j.index for j in jobs] == [0, 1]
    for j, g in zip(jobs, gen):
        assert j.input_paths == (g.out_path,)
        assert Path(j.out_path).parent.name == "judge" and len(j.anchors) == 3
    _, again = plan(PairsSpec(exemplars=1))
    assert again[0].out_path != jobs[0].out_path  # a regenerated input invalidates the judge shard
    stale = Path(jobs[0].out_path)
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"")
    moved = set_aside_unplanned(stale.parent, [Path(j.out_path) for j in again])
    assert moved == [tmp_path / "generated" / ".stale" / "judge" / stale.name] and not stale.exists()
    alone = plan_task_jobs(JudgeSpec(), shards, *args)
    assert all(j.input_paths == () for j in alone)  # nothing to score: random pairs over the anchors


def test_unknown_score_task_is_a_clear_error(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="score_tasks"):
        _stages(JudgeSpec(score_tasks=["ranked"]), PairsSpec())


def test_card_section_reports_monotone_fraction_and_scores():
    def row(task, kept=True, **kw):
        base = {
            "task": task,
            "kept": kept,
            "reason": None,
            "scores": [],
            "checks": [],
            "ranked": None,
            "positive_score": None,
            "negative_score": None,
            "pair_score": None,
            "ranked_mode": None,
        }
        return {**base, **kw}

    rows = [
        row("ranked", ranked=["a"], ranked_mode="graded", ranked_monotone_encoder=True),
        row("ranked", ranked=["b"], ranked_mode="graded", ranked_monotone_encoder=False),
        row("ranked", kept=False, ranked=["c"], ranked_mode="graded", reason="parse:ranked_repeat"),
        row("pairs", scores=[{"target": "positive"}], positive_score=4.0, negative_score=1.0),
        row("judge", scores=[{"target": "pair"}], pair_score=0.5),
        row("pairs", kept=False, reason="parse:judge_positive_unparsable", scores=[{"target": "positive"}]),
    ]
    md = section(rows)
    assert "monotone by reference-encoder cosine: 1/2 = 0.50 of the lists checked; kept lists 1/2" in md
    assert "| pairs | 2 | 2 | 1 |" in md and "| judge | 1 | 1 | 1 |" in md
    assert "positive 4.00 (n=1)" in md and "random pairs 0.50 (n=1)" in md and "(rejected): 1" in md
    assert section([row("pairs")]) is None
