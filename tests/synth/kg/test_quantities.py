"""Rule quantities: tricky surface forms normalise to value + unit + kind, and nothing numeric is missed."""

import pytest

from synth.kg.quantities import find_quantities, find_quantity_spans, words_to_number


def one(text):
    qs = find_quantities(text)
    assert len(qs) == 1, qs
    return qs[0]


@pytest.mark.parametrize(
    "text,value,unit,kind",
    [
        ("Survival rose by 3.5% overall.", 3.5, "%", "percent"),
        ("Survival rose by 3.5 percent overall.", 3.5, "%", "percent"),
        ("We screened 1,200 patients.", 1200, "", "number"),
        ("About two dozen mice died.", 24, "", "number"),
        ("One thousand ninety-nine women enrolled.", 1099, "", "number"),
        ("The grant was $4.5 million in total.", 4.5e6, "USD", "money"),
        ("Rats received 12 mg/kg daily.", 12, "mg/kg", "measure"),
        ("The study began on March 3, 2021 in Ohio.", 20210303, "date", "date"),
        ("It began on 3 March 2021.", 20210303, "date", "date"),
        ("It was published in 2019.", 20190000, "date", "date"),
        ("Enrolment closed in March of 2007.", 20070300, "date", "date"),
        ("Roughly 1.2 million people were exposed.", 1.2e6, "", "number"),
        ("A third of patients relapsed.", 1 / 3, "", "fraction"),
        ("Of these, 2/3 improved.", 2 / 3, "", "fraction"),
        ("Two-thirds improved.", 2 / 3, "", "fraction"),
        ("It failed in the first week.", 1, "", "ordinal"),
        ("This was the 21st visit.", 21, "", "ordinal"),
    ],
)
def test_tricky_numbers(text, value, unit, kind):
    q = one(text)
    assert q.value == pytest.approx(value) and q.unit == unit and q.kind == kind


def test_ranges_give_one_quantity_per_bound():
    qs = find_quantities("Doses of 10-20 mg for 3 to 5 days, and between 5 and 10 years later.")
    assert [(q.value, q.unit, q.kind) for q in qs] == [
        (10, "mg", "range"),
        (20, "mg", "range"),
        (3, "day", "range"),
        (5, "day", "range"),
        (5, "year", "range"),
        (10, "year", "range"),
    ]


def test_identifiers_and_pronouns_are_not_quantities():
    assert find_quantities("IL-6, H1N1, 3D imaging and COVID-19 affected no one; one of them left.") == []


def test_several_numbers_and_spans_point_at_the_digits():
    text = "Compared to care, counseling promoted screening (71% vs 61%) during 1996 in 88 DBE procedures."
    spans = find_quantity_spans(text)
    assert [s.quantity.text for s in spans] == ["71%", "61%", "1996", "88"]
    assert [text[s.num_start : s.num_end] for s in spans] == ["71", "61", "1996", "88"]


def test_words_to_number():
    assert words_to_number("two dozen") == 24
    assert words_to_number("three hundred and five") == 305
    assert words_to_number("seven million") == 7e6
    assert words_to_number("many") is None
