"""Facts of a sentence (entities and quantities) and how to compare them between two sentences.

Entities match case-, space- and hyphen-insensitively on word boundaries (a plural "s" tolerated);
quantities match by normalised value and compatible unit, whatever their surface form ("3.5 percent"
== "3.5%", "two dozen" == "24"). The task uses these to verify its own edits and the knowledge filter
to judge every record, so both apply the same rules.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Sequence

from synth.kg.quantities import find_quantities
from synth.records import Entity, Quantity


def norm_entity(text: str) -> str:
    """Case-folded, hyphens/underscores as spaces, punctuation dropped, whitespace collapsed: a node id."""
    t = re.sub(r"[-_/]", " ", text.casefold())
    t = re.sub(r"[^\w\s%.]", " ", t).replace(".", " ")
    return " ".join(t.split())


def _entity_pattern(entity: str) -> re.Pattern[str]:
    words = norm_entity(entity).split()
    body = r"\s+".join(re.escape(w) + (r"(?:e?s)?" if w[-1:].isalpha() else "") for w in words)
    return re.compile(rf"(?<!\w){body}(?!\w)")


def has_entity(text: str, entity: str) -> bool:
    words = norm_entity(entity).split()
    return bool(words) and bool(_entity_pattern(entity).search(norm_entity(text)))


def _same_value(a: Quantity, b: Quantity) -> bool:
    if a.value is None or b.value is None:
        return norm_entity(a.text) == norm_entity(b.text)
    if not math.isclose(a.value, b.value, rel_tol=1e-9, abs_tol=1e-12):
        return False
    return a.unit == b.unit or not a.unit or not b.unit or {a.unit, b.unit} <= {"date", "year-range"}


def has_quantity(candidates: Sequence[Quantity], q: Quantity) -> bool:
    return any(_same_value(q, c) for c in candidates)


@dataclass
class FactDiff:
    """How `text` relates to the facts of an anchor: which were lost and which quantities are new."""

    lost_entities: list[str] = field(default_factory=list)
    lost_quantities: list[str] = field(default_factory=list)
    added_quantities: list[str] = field(default_factory=list)

    @property
    def kept_all(self) -> bool:
        return not (self.lost_entities or self.lost_quantities or self.added_quantities)


def diff_facts(
    entities: Sequence[Entity],
    quantities: Sequence[Quantity],
    text: str,
    anchor_quantities: Sequence[Quantity] | None = None,
) -> FactDiff:
    """Facts of the anchor missing from `text`, and quantities in `text` the anchor does not have."""
    found = find_quantities(text)
    ref = list(anchor_quantities if anchor_quantities is not None else quantities)
    return FactDiff(
        lost_entities=[e.text for e in entities if not has_entity(text, e.text)],
        lost_quantities=[q.text for q in quantities if not has_quantity(found, q)],
        added_quantities=[q.text for q in found if not has_quantity(ref, q)],
    )


def dedupe_entities(entities: Sequence[Entity]) -> list[Entity]:
    """One entity per normalised text (first type wins); entities nested in a longer one are kept."""
    seen: dict[str, Entity] = {}
    for e in entities:
        key = norm_entity(e.text)
        if key and key not in seen:
            seen[key] = Entity(text=e.text.strip(), type=e.type)
    return list(seen.values())


def positive_entities(entities: Sequence[Entity], raw: dict[str, str]) -> list[Entity]:
    """The entities a positive must keep: the anchor's, except that a neighbour-swap positive (GCSE: a phrase
    replaced by a close graph neighbour, recorded in `raw`) keeps the neighbour in place of the swapped one."""
    before, after = raw.get("positive_swap_before"), raw.get("positive_swap_after")
    if not before or not after:
        return list(entities)
    return [Entity(after, e.type) if e.text == before else e for e in entities]
