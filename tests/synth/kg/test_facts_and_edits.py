"""Fact comparison (entities case/space-insensitive, quantities by value) and deterministic edits."""

import random

from synth.kg.edits import change_quantity, swap_entity
from synth.kg.facts import diff_facts, has_entity
from synth.kg.quantities import find_quantities, find_quantity_spans
from synth.records import Entity


def test_entity_matching_ignores_case_space_hyphens_and_plural():
    assert has_entity("The North  carolina cohort", "North Carolina")
    assert has_entity("print-communications were mailed", "print communication")
    assert not has_entity("Carolina's coast", "North Carolina")
    assert not has_entity("tamoxifenol", "tamoxifen")


def test_quantities_match_by_value_not_form():
    anchor_q = find_quantities("Two dozen rats gained 3.5% weight.")
    d = diff_facts([], anchor_q, "24 rats put on 3.5 percent more weight.")
    assert d.kept_all
    d = diff_facts([], anchor_q, "24 rats put on 4.5 percent more weight.")
    assert d.lost_quantities == ["3.5%"] and d.added_quantities == ["4.5 percent"]


def test_swap_entity_replaces_whole_words_once():
    assert (
        swap_entity("Tamoxifen and tamoxifen users", Entity("tamoxifen", "DRUG"), "letrozole")
        == "Letrozole and tamoxifen users"
    )
    assert swap_entity("No such drug here", Entity("aspirin", "DRUG"), "x") is None


def test_change_quantity_changes_exactly_that_number_in_its_style():
    text = "In 2019, 1,200 patients (3.5%) got two dozen doses of 12 mg/kg."
    rng = random.Random(0)
    for span in find_quantity_spans(text):
        new_text, fact = change_quantity(text, span, rng)
        before, after = find_quantities(text), find_quantities(new_text)
        assert len(before) == len(after)
        changed = [(a.value, b.value) for a, b in zip(before, after) if a.value != b.value]
        assert len(changed) == 1, (span.quantity, new_text)
        assert fact.kind == "quantity_change" and fact.before != fact.after and fact.after in new_text
    years = change_quantity("It began in March 2007.", find_quantity_spans("It began in March 2007.")[0], rng)
    assert years[1].before == "March 2007" and years[1].after.startswith("March 20")
    assert "1,200" not in change_quantity(text, find_quantity_spans(text)[1], rng)[0]


def test_change_quantity_avoids_values_already_in_the_sentence():
    text = "Self-reports were obtained during 1995, 1996, and 1997."
    for seed in range(20):
        new_text, fact = change_quantity(text, find_quantity_spans(text)[0], random.Random(seed))
        assert fact.after not in ("1996", "1997", "1995") and fact.after in new_text
