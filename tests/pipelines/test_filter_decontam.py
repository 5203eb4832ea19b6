import pytest
from filtering_helpers import rec
from pydantic import ValidationError

from pipelines.filters.decontam import DecontamFilter, DecontamSpec
from pipelines.filters.evalsets import EvalSetError, stsb_sentences, user_sets

SNLI = "Two women are embracing while holding to go packages."  # shipped corpus: decontaminated upstream
STSB_TEST_LONG = "I remained under the banyan tree, exhausted by my daily ritual of dragooning the men every two hours."


def verdict(positive, negative="A dog sleeps on a porch in the sun.", anchor=SNLI, **spec):
    return DecontamFilter(DecontamSpec(**spec)).verdicts([rec(anchor, positive, negative)])[0]


def test_real_stsb_sentences_are_read_from_the_shipped_files():
    test, dev = stsb_sentences("test"), stsb_sentences("dev")
    assert len(test) == 2 * 1379 and len(dev) == 2 * 1500
    assert "A girl is styling her hair." in test and STSB_TEST_LONG in test


def test_exact_stsb_test_sentence_is_rejected_whatever_the_case_and_punctuation():
    assert verdict("a girl is styling her hair") == "positive:exact@stsb-test"
    assert verdict("A man walks.", negative="A GIRL IS STYLING HER HAIR!") == "negative:exact@stsb-test"
    assert verdict("A man walks.", anchor="A girl is styling her hair.") == "anchor:exact@stsb-test"
    assert verdict("A girl is styling her hair in a salon today.") is None  # short: whole-sentence match only


def test_shared_8gram_inside_a_longer_sentence_is_rejected():
    eight = "exhausted by my daily ritual of dragooning the"
    assert verdict(f"The soldier sat down, {eight} recruits at dawn.") == "positive:ngram@stsb-test"
    assert verdict("The soldier sat down, exhausted by my daily ritual of drilling recruits at dawn.") is None
    assert verdict(f"The soldier sat down, {eight} recruits.", fields=["anchor", "negative"]) is None


def test_overlap_fraction_boundary():
    # 11 words -> 4 eight-grams; exactly 1 of them comes from STS-B test: fraction 0.25
    sentence = "I remained under the banyan tree, exhausted by zebras yelling loudly."
    assert verdict(sentence) == "positive:ngram@stsb-test"
    assert verdict(sentence, max_overlap=0.25) is None  # rejected only above the fraction
    assert verdict(sentence, max_overlap=0.2499) == "positive:ngram@stsb-test"


def test_shipped_corpus_sentence_passes_and_sets_are_selectable():
    assert verdict(SNLI.replace("women", "men")) is None
    assert verdict("a girl is styling her hair", sets=["stsb-dev"]) is None
    with pytest.raises(ValidationError, match="shipped"):
        DecontamSpec(sets=["sts12"])


def test_user_directory_with_sts12_16_and_sick_files(tmp_path):
    sts = tmp_path / "STS12-en-test"
    sts.mkdir()
    (sts / "STS.input.MSRpar.txt").write_text(
        "A cat chases a laser pointer around the room.\tA cat runs.\n", encoding="utf-8"
    )
    (tmp_path / "SICK_test_annotated.txt").write_text(
        "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\r\n"
        "1\tA boy is jumping on the trampoline happily\tA kid jumps\t4.2\tENTAILMENT\r\n",
        encoding="utf-8",
    )
    sets = user_sets(tmp_path)
    assert sets["STS12-en-test/MSRpar"][0].startswith("A cat chases")
    assert sets["SICK_test_annotated"] == ["A boy is jumping on the trampoline happily", "A kid jumps"]
    assert (
        verdict("A cat chases a laser pointer around the room.", data_dir=str(tmp_path))
        == "positive:exact@STS12-en-test/MSRpar"
    )
    assert verdict("a kid jumps", data_dir=str(tmp_path)) == "positive:exact@SICK_test_annotated"


def test_missing_or_empty_user_directory_is_a_clear_error(tmp_path):
    with pytest.raises(EvalSetError, match="not found"):
        user_sets(tmp_path / "nope")
    with pytest.raises(EvalSetError, match=r"no STS\.input"):
        DecontamFilter(DecontamSpec(data_dir=str(tmp_path)))
