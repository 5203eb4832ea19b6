from pathlib import Path

import pytest

from pipelines.filters.rules import RulesFilter, RulesSpec, exemplar_outputs
from synth.records import Record

ANCHOR = "A man in a blue shirt is standing in front of a garage."


def verdict(positive, negative="A woman in a red dress is sitting inside the garage.", **spec):
    rec = Record(task="pairs", anchor_id="a", anchor=ANCHOR, positive=positive, negative=negative)
    return RulesFilter(RulesSpec(**spec)).verdicts([rec])[0]


@pytest.mark.parametrize(
    "positive, reason",
    [
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
    ],
)
def test_rule_reasons(positive, reason):
    assert verdict(positive) == reason


def test_negative_checked_too_and_equal_pair_rejected():
    good = "A man wearing a blue shirt stands before a garage."
    assert verdict(good, negative=ANCHOR) == "negative:copy_of_anchor"
    assert verdict(good, negative=good) == "positive_equals_negative"


def test_thresholds_come_from_the_spec():
    assert verdict("A man stands.", min_words=3) is None
    assert verdict("A man stands.", min_words=4) == "positive:too_short"


LOOP = "The White House, the White House, the White House, the White House, the White House, the White House."


@pytest.mark.parametrize(
    "negative, reason",
    [
        (LOOP, "negative:repetition_top_2gram_share"),  # the kept hard negative of issue 18, from the quickstart data
        ("A man rides a horse on the beach, on the beach, on the beach.", "negative:repetition_top_3gram_share"),
        ("A woman is sitting inside the garage.", None),
        ("A drunk looking woman is hugging a drunk looking man.", None),  # two occurrences are language, not a loop
    ],
)
def test_repetition_loops_are_rejected_with_their_reason(negative, reason):
    assert verdict("A man wearing a blue shirt stands before a garage.", negative=negative) == reason


def test_repetition_thresholds_come_from_the_spec():
    looped = "A man rides a horse on the beach, on the beach, on the beach."
    assert verdict(looped) == "positive:repetition_top_3gram_share"
    assert verdict(looped, max_top_ngram_share={}, max_dup_ngram_frac={3: 0.3}) == "positive:repetition_dup_3gram_frac"
    assert verdict(looped, max_top_ngram_share={}, max_dup_ngram_frac={}) is None


def test_no_human_sentence_is_lost_to_the_repetition_rules():
    """The shipped corpora and every few-shot exemplar are good sentences: the defaults keep all of them but the
    one SNLI premise that is itself a loop ("images are missing images are missing ...")."""
    from pipelines.corpora import __file__ as corpora_init
    from pipelines.filters.repetition import repetition_problem

    spec = RulesSpec()
    root = Path(corpora_init).parent
    lines = [ln for p in sorted(root.glob("*/*.txt")) for ln in p.read_text(encoding="utf-8").splitlines() if ln]
    lines += sorted(exemplar_outputs())
    lost = [ln for ln in lines if repetition_problem(ln, spec.max_top_ngram_share, spec.max_dup_ngram_frac)]
    assert len(lines) > 12000 and lost == ["images are missing " * 5 + "images are missing"]
