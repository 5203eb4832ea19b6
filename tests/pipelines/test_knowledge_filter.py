"""Knowledge filter, both directions: positives must keep every fact; hard negatives must change exactly the
targeted one. Boundaries: surface-form changes that keep a value pass; a changed value, a lost entity, an
untouched target or a second change are rejected with their reason."""

import pytest

from pipelines.filters import build_filter
from pipelines.filters.knowledge import KnowledgeSpec
from synth.kg.quantities import find_quantities
from synth.records import ChangedFact, Entity, Record

ANCHOR = "Aspirin lowered stroke risk by 12% in 1,200 adults in Ohio."
ENTS = [Entity("Aspirin", "DRUG"), Entity("stroke", "DISEASE"), Entity("Ohio", "GPE")]


def rec(positive=None, negative=None, changed=None):
    return Record(
        task="kg_variants",
        anchor_id="a",
        anchor=ANCHOR,
        positive=positive,
        negative=negative,
        negative_kind=changed.kind if changed else None,
        entities=list(ENTS),
        quantities=find_quantities(ANCHOR),
        changed_fact=changed,
    )


def verdict(r, **kw):
    return build_filter(KnowledgeSpec(**kw)).verdicts([r])[0]


@pytest.mark.parametrize(
    "positive,reason",
    [
        ("In Ohio, 1,200 adults taking aspirin saw their STROKE risk drop by 12 percent.", None),
        ("In Ohio, 1200 adults on Aspirin had a 12% lower risk of stroke.", None),
        ("In Ohio, 1,200 adults saw their risk drop by 12%.", "positive:lost_entity"),
        ("Aspirin lowered stroke risk by 12% in adults in Ohio.", "positive:lost_quantity"),
        ("Aspirin lowered stroke risk by 15% in 1,200 adults in Ohio.", "positive:altered_quantity"),
        ("Aspirin lowered stroke risk by 12% in 1,200 adults in Ohio within 2 years.", "positive:added_quantity"),
    ],
)
def test_positive_boundaries(positive, reason):
    assert verdict(rec(positive=positive)) == reason


def test_added_quantities_can_be_allowed():
    r = rec(positive="Aspirin lowered stroke risk by 12% in 1,200 adults in Ohio within 2 years.")
    assert verdict(r, allow_added_quantities=True) is None


SWAP = ChangedFact("entity_swap", "Aspirin", "Warfarin")
QTY = ChangedFact("quantity_change", "12%", "18%")
REFUTE = ChangedFact("refute", ANCHOR, "")
POS = "In Ohio, 1,200 adults on aspirin had a 12% lower stroke risk."


@pytest.mark.parametrize(
    "changed,negative,reason",
    [
        (SWAP, "Warfarin lowered stroke risk by 12% in 1,200 adults in Ohio.", None),
        (SWAP, "In Ohio, warfarin cut the stroke risk of 1,200 adults by 12%.", None),
        (SWAP, "Aspirin and Warfarin lowered stroke risk by 12% in 1,200 adults in Ohio.", "negative:target_unchanged"),
        (SWAP, "Ibuprofen lowered stroke risk by 12% in 1,200 adults in Ohio.", "negative:replacement_missing"),
        (SWAP, "Warfarin lowered stroke risk by 12% in 1,200 adults in Texas.", "negative:other_fact_changed"),
        (SWAP, "Warfarin lowered stroke risk by 12% in 900 adults in Ohio.", "negative:other_fact_changed"),
        (QTY, "Aspirin lowered stroke risk by 18% in 1,200 adults in Ohio.", None),
        (QTY, "Aspirin lowered stroke risk by 18 percent in 1200 adults in Ohio.", None),
        (QTY, "Aspirin lowered stroke risk by 12% in 1,200 adults in Ohio.", "negative:target_unchanged"),
        (QTY, "Aspirin lowered stroke risk by 20% in 1,200 adults in Ohio.", "negative:replacement_missing"),
        (QTY, "Aspirin lowered stroke risk by 18% in 1,300 adults in Ohio.", "negative:other_fact_changed"),
        (QTY, "Warfarin lowered stroke risk by 18% in 1,200 adults in Ohio.", "negative:other_fact_changed"),
        (REFUTE, "Aspirin did not lower stroke risk by 12% in 1,200 adults in Ohio.", None),
        (REFUTE, "aspirin lowered stroke risk by 12% in 1,200 adults in ohio", "negative:target_unchanged"),
        (REFUTE, "Aspirin did not lower stroke risk in Ohio.", "negative:other_fact_changed"),
    ],
)
def test_negative_boundaries(changed, negative, reason):
    assert verdict(rec(positive=POS, negative=negative, changed=changed)) == reason


def test_range_bound_change_and_positive_checked_first():
    anchor = "Doses of 10-20 mg were given."
    r = Record(
        task="kg_variants",
        anchor_id="a",
        anchor=anchor,
        positive="They gave doses of 10-20 mg.",
        negative="Doses of 10-30 mg were given.",
        quantities=find_quantities(anchor),
        changed_fact=ChangedFact("quantity_change", "10-20 mg", "10-30 mg"),
    )
    assert verdict(r) is None
    r.negative = "Doses of 15-30 mg were given."
    assert verdict(r) == "negative:other_fact_changed"
    r.positive = "They gave doses."
    assert verdict(r) == "positive:lost_quantity"


def test_records_without_facts_pass_untouched():
    plain = Record(
        task="pairs", anchor_id="a", anchor="A man walks.", positive="A person walks.", negative="A man sits."
    )
    assert verdict(plain) is None
