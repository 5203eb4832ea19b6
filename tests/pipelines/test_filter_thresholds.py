import pytest
from filtering_helpers import PROV, annotated, rec

from pipelines.filters.base import empty_columns
from pipelines.filters.thresholds import ThresholdsFilter, ThresholdsSpec, unswap_row
from pipelines.schema import record_to_row, row_to_record
from synth.records import Score

A, P, N = "A man stands by a garage.", "A man is next to a garage.", "A woman sits in a kitchen."


def run(pos, neg, **spec):
    r = rec(A, P, N, positive_score=pos, negative_score=neg)
    flt = ThresholdsFilter(ThresholdsSpec(**spec))
    out, cols, [judged] = annotated(flt, [r])
    assert flt.verdicts([r]) == out and (r.positive, r.negative) == (P, N)  # the filter never changes the record
    return out[0], judged, cols


@pytest.mark.parametrize(
    "pos, neg, reason",
    [
        (3.0, 2.9, None),  # both exactly/inside the MultiCSR defaults
        (5.0, 3.0, None),  # negative exactly at max_negative is kept
        (2.99, 1.0, "positive_score_low"),
        (4.0, 3.01, "negative_score_high"),
        (3.0, 3.0, "no_gap"),  # positive == negative: no contrast
    ],
)
def test_multicsr_default_boundaries(pos, neg, reason):
    assert run(pos, neg)[0] == reason


def test_gap_rule_can_be_switched_off_and_thresholds_come_from_the_spec():
    assert run(3.0, 3.0, require_gap=False)[0] is None
    assert run(4.0, 1.0, min_positive=4.5)[0] == "positive_score_low"
    assert run(4.0, 1.0, max_negative=0.5)[0] == "negative_score_high"


def test_reversed_scores_swap_the_pair_and_say_so():
    why, r, cols = run(1.0, 4.5)  # the annotate step reorients a copy; the row's typed `swapped` says so
    assert why is None
    assert (r.positive, r.negative, r.positive_score, r.negative_score) == (N, P, 4.5, 1.0)
    assert cols["swapped"] == [True]


def test_swap_moves_judge_scores_and_stored_cosines_with_their_sentence():
    r = rec(
        A,
        P,
        N,
        positive_score=1.0,
        negative_score=4.0,
        scores=[Score("positive", P, 1.0, 1.0), Score("negative", N, 4.0, 4.0)],
    )
    flt = ThresholdsFilter(ThresholdsSpec())
    cols = {**empty_columns(1), "cos_pos": [0.2], "cos_neg": [0.9], "cos_pos_key": [1.0], "cos_neg_key": [2.0]}
    [r] = flt.annotator.annotate([r], cols)
    assert {s.target: s.text for s in r.scores} == {"positive": N, "negative": P}
    assert (cols["cos_pos"][0], cols["cos_neg"][0], cols["cos_pos_key"][0]) == (0.9, 0.2, 2.0)
    row = {**record_to_row(r, PROV), **{c: v[0] for c, v in cols.items()}}
    back_row = unswap_row(row)  # re-filtering starts from the generated pair
    back = row_to_record(back_row)
    assert (back.positive, back.negative, back.positive_score, back_row["cos_pos"]) == (P, N, 1.0, 0.2)
    assert not back_row["swapped"]


def test_no_swap_when_disabled():
    why, r, cols = run(1.0, 4.5, swap_reversed=False)
    assert why == "positive_score_low" and r.positive == P and cols["swapped"] == [None]


def test_records_without_scores_follow_the_missing_setting():
    why, r, cols = run(None, None)
    assert why is None and cols["no_scores"] == [True]
    assert run(4.0, None, missing="reject")[0] == "no_scores"
    ranked = rec(A, ranked=["a b c", "d e f"])  # nothing to threshold
    assert ThresholdsFilter(ThresholdsSpec(missing="reject")).verdicts([ranked]) == [None]
