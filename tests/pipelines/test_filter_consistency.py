import pytest
from filtering_helpers import NoEncoder, VectorEncoder, annotated, rec, unit

from pipelines.filters.consistency import ConsistencyFilter, ConsistencySpec, cos_key

A = "anchor sentence"


def judge(cos_pos, cos_neg, encoder=None, **spec):
    vectors = {A: [1.0, 0.0], "pos": unit(cos_pos), "neg": unit(cos_neg)}
    r = rec(A, "pos", "neg")
    flt = ConsistencyFilter(ConsistencySpec(**spec), encoder=encoder or VectorEncoder(vectors))
    assert flt.verdicts([r]) == annotated(flt, [r])[0]  # annotating on its own or as curate does: one verdict
    out, cols, _ = annotated(flt, [r])
    return out[0], cols


@pytest.mark.parametrize(
    "cos_pos, cos_neg, reason",
    [
        (0.80, 0.7499, None),  # GCSE: cos(a,p) >= 0.80 keeps, exactly at the line
        (0.7999, 0.5, "positive_too_far"),
        (0.90, 0.75, "negative_too_close"),  # GCSE: cos(a,n) < 0.75 keeps, so 0.75 itself is rejected
        (0.95, 0.10, None),
    ],
)
def test_gcse_default_boundaries(cos_pos, cos_neg, reason):
    why, cols = judge(cos_pos, cos_neg)
    assert why == reason
    assert cols["cos_pos"][0] == pytest.approx(cos_pos, abs=1e-6)  # typed columns (schema v2), not checks
    assert cols["cos_neg"][0] == pytest.approx(cos_neg, abs=1e-6)


def test_margin_rule_boundary():
    loose = {"min_positive_cos": None, "max_negative_cos": None}
    assert judge(0.8, 0.7, margin=0.1, **loose)[0] == "margin"  # needs cos_pos > cos_neg + m, strictly
    assert judge(0.8, 0.6999, margin=0.1, **loose)[0] is None
    assert judge(0.5, 0.6, margin=0.0, **loose)[0] == "margin"  # negative closer than positive
    assert judge(0.5, 0.6, margin=None, **loose)[0] is None


def test_unique_sentences_encoded_once_in_one_batch():
    vectors = {A: [1.0, 0.0], "B anchor": [0.0, 1.0], "p1": unit(0.9), "n1": unit(0.1), "p2": [0.1, 1.0]}
    enc = VectorEncoder(vectors)
    records = [rec(A, "p1", "n1", seed=1), rec(A, "p1", "n1", seed=2), rec("B anchor", "p2", "n1", seed=3)]
    ConsistencyFilter(ConsistencySpec(), encoder=enc).verdicts(records)
    assert len(enc.calls) == 1 and sorted(enc.calls[0]) == sorted(set(enc.calls[0]))
    assert set(enc.calls[0]) == set(vectors)


def test_stored_cosines_are_reused_with_new_thresholds_and_recomputed_when_texts_change():
    why, cols = judge(0.85, 0.3)
    assert why is None and cols["cos_pos_key"][0] == cos_key("embedded:all-minilm-l6-v2", A, "pos")
    r = rec(A, "pos", "neg")
    stricter = ConsistencyFilter(ConsistencySpec(min_positive_cos=0.9), encoder=NoEncoder())
    judged = stricter.annotator.annotate([r], cols)  # no encoder call: stored cosines reused
    assert stricter.verdicts(judged, cols) == ["positive_too_far"]
    r.positive = "changed"
    with pytest.raises(AssertionError, match="should not run"):
        stricter.annotator.annotate([r], cols)  # stale key: must re-encode
    other_encoder = ConsistencyFilter(ConsistencySpec(encoder="some/other-model"), encoder=NoEncoder())
    r.positive = "pos"
    with pytest.raises(AssertionError, match="should not run"):
        other_encoder.annotator.annotate([r], cols)


def test_records_without_a_negative_check_the_positive_only():
    enc = VectorEncoder({A: [1.0, 0.0], "pos": unit(0.9)})
    r = rec(A, "pos", None)
    out, cols, _ = annotated(ConsistencyFilter(ConsistencySpec(), encoder=enc), [r])
    assert out == [None] and cols["cos_neg"] == [None] and cols["cos_pos"][0] > 0.89


@pytest.mark.slow
def test_real_reference_encoder_separates_paraphrase_from_unrelated(minilm):
    anchor = "A man is playing a guitar on the street."
    records = [
        rec(anchor, "A man plays the guitar outdoors on a street.", "A chef slices onions in a kitchen.", seed=1),
        rec(anchor, "A woman is reading a newspaper.", "A man is playing a guitar on a street.", seed=2),
    ]
    out, cols, _ = annotated(ConsistencyFilter(ConsistencySpec(), encoder=minilm), records)
    assert out[0] is None and cols["cos_pos"][0] >= 0.8 and cols["cos_neg"][0] < 0.3
    assert out[1] == "positive_too_far" and cols["cos_neg"][1] > 0.9
