import pytest

from synth.parsing import clean_sentence, first_number, parse_json_object


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("A man rides a bike.", "A man rides a bike."),
        ('"A man rides a bike."', "A man rides a bike."),
        ("Sentence: A man rides a bike.", "A man rides a bike."),
        ("Rewritten sentence: “A man rides a bike.”", "A man rides a bike."),
        ("Here is the paraphrased sentence:\nA man rides a bike.", "A man rides a bike."),
        ("A man rides a bike.\n\nThis keeps the meaning because...", "A man rides a bike."),
        ("**Output:** A man rides a bike.", "A man rides a bike."),
        ("  - A man rides a bike. (Note: changed the verb)", "A man rides a bike."),
    ],
)
def test_clean_sentence_strips_labels_quotes_and_commentary(raw, expected):
    assert clean_sentence(raw) == (expected, None)


@pytest.mark.parametrize(
    "raw, reason", [(None, "empty"), ("", "empty"), ("  \n \n", "empty"), ("Sentence:", "only_label"), ('""', "empty")]
)
def test_clean_sentence_reports_why_nothing_is_left(raw, reason):
    assert clean_sentence(raw) == (None, reason)


def test_parse_json_object_tolerates_fences_and_prose():
    obj, err = parse_json_object('Sure! ```json\n{"positive": "a {b}", "negative": "c"}\n``` done', ("positive",))
    assert err is None and obj == {"positive": "a {b}", "negative": "c"}


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("", "empty"),
        ("no json here", "not_json"),
        ('{"positive": "a", ', "truncated_json"),
        ("{'a': 1}", "bad_json"),
        ('{"positive": "a"}', "missing_keys:negative"),
    ],
)
def test_parse_json_object_failures_have_reasons(raw, reason):
    assert parse_json_object(raw, ("positive", "negative")) == (None, reason)


def test_first_number():
    assert first_number("The similarity score is 3.5 out of 5") == 3.5
    assert first_number("no number") is None
