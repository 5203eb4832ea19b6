import pytest

from pipelines.filters.rules import RulesFilter, RulesSpec
from synth.records import Record

ANCHOR = "A man in a blue shirt is standing in front of a garage."


def verdict(positive, negative="A woman in a red dress is sitting inside the garage.", **spec):
    rec = Record(task="pairs", anchor_id="a", anchor=ANCHOR, positive=positive, negative=negative)
    return RulesFilter(RulesSpec(**spec)).verdicts([rec])[0]


@pytest.mark.parametrize("positive, reason", [
    ("A man wearing a blue shirt stands before a garage.", None),
    ("A man in a blue shirt is standing in front of a garage!", "positive:copy_of_anchor"),
    ("Garage.", "positive:too_short"),
    ("I'm sorry, but I cannot rewrite this sentence.", "positive:refusal"),
    ("As an AI language model I think a man stands there.", "positive:refusal"),
    ("The original sentence describes a man near a garage.", "positive:meta_commentary"),
    ("Here is a paraphrase of a man near a garage.", "positive:meta_commentary"),
    ("See https://example.com for a man near a garage", "positive:not_a_sentence"),
    ("A dog leaps to catch a frisbee on the beach.", "positive:copy_of_exemplar"),
    (" ".join(["word"] * 40), "positive:too_long"),
])
def test_rule_reasons(positive, reason):
    assert verdict(positive) == reason


def test_negative_checked_too_and_equal_pair_rejected():
    good = "A man wearing a blue shirt stands before a garage."
    assert verdict(good, negative=ANCHOR) == "negative:copy_of_anchor"
    assert verdict(good, negative=good) == "positive_equals_negative"


def test_thresholds_come_from_the_spec():
    assert verdict("A man stands.", min_words=3) is None
    assert verdict("A man stands.", min_words=4) == "positive:too_short"
