"""Which rows and fields each objective trains on (the registry's `extract`), and recipe validation of objectives."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from trainers.losses import LOSSES, loss_spec_type
from trainers.train import TrainSpec, training_columns

SPEC = TypeAdapter(loss_spec_type())
ROWS = [
    {
        "task": "pairs",
        "id": "1",
        "anchor": "a1",
        "positive": "p1",
        "negative": "n1",
        "positive_score": 4.0,
        "negative_score": 1.0,
    },
    {"task": "pairs", "id": "2", "anchor": "a2", "positive": "p2", "negative": None},
    {"task": "judge", "id": "3", "anchor": "a1", "text_b": "b3", "pair_score": 0.5},
    {"task": "ranked", "id": "4", "anchor": "a4", "ranked": ["a4", "r1", "r2", "r3"]},
    {"task": "ranked", "id": "5", "anchor": "a5", "ranked": ["r1", "r2"]},
]


def cols(name: str, **kw):
    return training_columns(ROWS, SPEC.validate_python({"name": name, **kw}))


def test_every_registered_objective_validates_with_defaults():
    for name in LOSSES:
        assert SPEC.validate_python({"name": name}).name == name


def test_infonce_rows():
    assert cols("infonce") == {"anchor": ["a1"], "positive": ["p1"], "negative": ["n1"]}
    assert cols("infonce", use_hard_negative=False) == {"anchor": ["a1", "a2"], "positive": ["p1", "p2"]}
    assert cols("infonce", use_hard_negative=False, tasks=["judge"]) == {"anchor": [], "positive": []}


def test_unsup_simcse_uses_distinct_anchors_paired_with_themselves():
    c = cols("simcse_unsup")
    assert c["anchor"] == ["a1", "a2", "a4", "a5"] and c["positive"] == c["anchor"]


def test_scored_pairs_all_three_slots_normalised():
    c = cols("cosent")
    assert list(zip(c["sentence1"], c["sentence2"], c["score"])) == [
        ("a1", "p1", 0.8),
        ("a1", "n1", 0.2),
        ("a1", "b3", 0.1),
    ]
    assert cols("claif")["score"] == pytest.approx([0.74, 0.26, 0.18])
    assert cols("angle", score_min=0, score_max=4)["score"] == [1.0, 0.25, 0.125]


def test_score_outside_range_names_the_setting():
    with pytest.raises(ValueError, match=r"score_min, score_max"):
        cols("claif", score_max=1.0)


def test_clhaif_needs_positive_score():
    assert cols("clhaif") == {"anchor": ["a1"], "positive": ["p1"], "negative": ["n1"], "score": [0.8]}


def test_listmle_drops_repeated_anchor_and_short_lists():
    assert cols("listmle", list_size=3) == {"anchor": ["a4"], "rank_0": ["r1"], "rank_1": ["r2"], "rank_2": ["r3"]}
    assert cols("listmle", list_size=2)["anchor"] == ["a4", "a5"]


def test_recipe_objective_settings_are_strict():
    spec = TrainSpec(objectives=[{"name": "gcse", "sigma": 0.3}, {"name": "multicsr", "phi": 0.9}])
    assert spec.objectives[0].sigma == 0.3 and spec.objectives[1].phi == 0.9
    with pytest.raises(ValidationError):
        TrainSpec(objectives=[{"name": "gcse", "sigmaa": 0.3}])
    with pytest.raises(ValidationError):
        TrainSpec(objectives=[{"name": "nope"}])
    with pytest.raises(ValidationError):
        TrainSpec(pooler="max")
