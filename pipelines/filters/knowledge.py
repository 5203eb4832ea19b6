"""Knowledge filter (GCSE): positives keep every fact; hard negatives change exactly the targeted one.

Applies to records that carry extracted facts or a `changed_fact` (kg_variants); others pass untouched.
Positive reasons: `positive:lost_entity`, `positive:lost_quantity`, `positive:altered_quantity` (a number
of the anchor replaced by another), `positive:added_quantity`. Negative reasons: `negative:target_unchanged`
(the targeted fact is still there), `negative:replacement_missing` (the new entity/value is not there),
`negative:other_fact_changed` (another entity or quantity was lost or added). Entities compare case- and
space-insensitively, quantities by normalised value (synth.kg.facts).
"""

from __future__ import annotations

from typing import ClassVar, Literal, Sequence

from pydantic import Field

from pipelines.filters.base import FilterSpec
from synth.kg.facts import diff_facts, has_entity, has_quantity, norm_entity, positive_entities
from synth.kg.quantities import find_quantities
from synth.records import Quantity, Record


class KnowledgeSpec(FilterSpec):
    name: Literal["knowledge"] = "knowledge"
    check_positive: bool = True
    check_negative: bool = True
    allow_added_quantities: bool = Field(False, description="let a positive mention numbers the anchor lacks")


def _count(qs: Sequence[Quantity], q: Quantity) -> int:
    return sum(1 for x in qs if has_quantity([x], q))


def positive_reason(rec: Record, allow_added: bool = False) -> str | None:
    d = diff_facts(positive_entities(rec.entities, rec.raw), rec.quantities, rec.positive or "")
    if d.lost_entities:
        return "lost_entity"
    if d.lost_quantities:
        return "altered_quantity" if d.added_quantities else "lost_quantity"
    if d.added_quantities and not allow_added:
        return "added_quantity"
    return None


def negative_reason(rec: Record) -> str | None:
    """Why a knowledge-guided hard negative does not change exactly its targeted fact (None: it does)."""
    cf, neg = rec.changed_fact, rec.negative or ""
    if cf is None:
        return None
    if cf.kind == "refute":
        if norm_entity(neg) == norm_entity(rec.anchor):
            return "target_unchanged"
        return None if diff_facts(rec.entities, rec.quantities, neg).kept_all else "other_fact_changed"
    if cf.kind == "entity_swap":
        if has_entity(neg, cf.before):
            return "target_unchanged"
        if not has_entity(neg, cf.after):
            return "replacement_missing"
        before = norm_entity(cf.before)
        others = [e for e in rec.entities if norm_entity(e.text) not in before and before not in norm_entity(e.text)]
        return None if diff_facts(others, rec.quantities, neg).kept_all else "other_fact_changed"
    if cf.kind == "quantity_change":
        old, new = find_quantities(cf.before), find_quantities(cf.after)
        removed = [q for q in old if not has_quantity(new, q)]
        added = [q for q in new if not has_quantity(old, q)]
        found = find_quantities(neg)
        if not removed or any(_count(found, q) >= _count(rec.quantities, q) for q in removed):
            return "target_unchanged"
        if any(not has_quantity(found, q) for q in added):
            return "replacement_missing"
        kept = [q for q in rec.quantities if not has_quantity(removed, q)]
        d = diff_facts(rec.entities, kept, neg, anchor_quantities=kept + added)
        return None if d.kept_all else "other_fact_changed"
    return None


class KnowledgeFilter:
    name: ClassVar[str] = "knowledge"

    def __init__(self, spec: KnowledgeSpec):
        self.spec = spec

    def verdicts(self, records: Sequence[Record]) -> list[str | None]:
        out: list[str | None] = []
        for r in records:
            if not (r.entities or r.quantities or r.changed_fact):
                out.append(None)
                continue
            why = (
                positive_reason(r, self.spec.allow_added_quantities)
                if self.spec.check_positive and r.positive
                else None
            )
            reason = f"positive:{why}" if why else None
            if reason is None and self.spec.check_negative and r.negative is not None:
                nwhy = negative_reason(r)
                reason = f"negative:{nwhy}" if nwhy else None
            out.append(reason)
        return out
