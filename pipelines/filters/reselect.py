"""GCSE's denoising with re-selection (Lai et al., ACL 2025, pipeline step 9), the consistency filter's
`on_fail = "reselect"`: instead of rejecting a pair the frozen encoder disagrees with, re-form it.

Per record (cosines from the consistency filter, thresholds its `min_positive_cos` / `max_negative_cos`):
- the positive stays when cos(anchor, positive) >= min_positive_cos, else the anchor itself becomes the positive
  (a dropout positive, as SimCSE's unsupervised pairs);
- the negative stays when cos(anchor, negative) < max_negative_cos, else the anchor of the record `shift`
  (GCSE: 6) places further in the batch (cyclic; the next different anchor) becomes the negative;
- each candidate that was not used (the replaced positive or negative) is re-emitted as a new pair
  (candidate, candidate, the record's final negative), as GCSE does.
The filter's annotate step (`pipelines.filters.consistency.CosineAnnotator`) does this on copies, before the
filter judges. Every row says how it was formed, in `checks`: `reselect_as_generated` (both kept), or
`reselect_positive_from_anchor` and/or `reselect_negative_from_row` (= the offset), or
`reselect_reemitted_positive` / `reselect_reemitted_negative` (a new row from that unused candidate, its
anchor id `<parent anchor id>~<role><n>`). Per-role candidates are kept apart: a hard negative that the
encoder finds close is not promoted to a positive (it changes a fact; the knowledge filter would say so).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Sequence

from synth.records import Record


def reselect(
    records: Sequence[Record],
    cos_pos: Sequence[float | None],
    cos_neg: Sequence[float | None],
    min_pos: float | None,
    max_neg: float | None,
    shift: int = 6,
    reemit: bool = True,
) -> tuple[list[Record], list[tuple[Record, Record]]]:
    """Re-form failing records (positive = anchor, negative = a shifted row's anchor) as copies, given their
    cosines; returns (the records to judge, the re-emitted pairs of unused candidates as (parent, new record),
    not yet scored). The given records are not changed."""
    out: list[Record] = []
    emitted: list[tuple[Record, Record]] = []
    for i, (r, cp, cn) in enumerate(zip(records, cos_pos, cos_neg)):
        unused = []
        r = replace(r, checks=dict(r.checks))
        if r.positive is not None and min_pos is not None and cp is not None and cp < min_pos:
            unused.append(("positive", r.positive))
            r.positive = r.anchor
            r.checks["reselect_positive_from_anchor"] = 1.0
        if r.negative is not None and max_neg is not None and cn is not None and cn >= max_neg:
            other = _shifted_anchor(records, i, shift)
            if other is not None:
                unused.append(("negative", r.negative))
                r.negative = other[1]
                r.checks["reselect_negative_from_row"] = float(other[0])
        if not unused:
            r.checks["reselect_as_generated"] = 1.0
        out.append(r)
        if reemit:
            emitted += [(r, _reemitted(r, role, text, k)) for k, (role, text) in enumerate(unused) if text != r.anchor]
    return out, emitted


def _shifted_anchor(records: Sequence[Record], i: int, shift: int) -> tuple[int, str] | None:
    """(offset, anchor) of the record `shift` rows on (cyclic), or the next one after it with another anchor."""
    n = len(records)
    for k in range(shift, shift + n):
        j = (i + k) % n
        if j != i and records[j].anchor != records[i].anchor:
            return k, records[j].anchor
    return None


def _reemitted(r: Record, role: str, text: str, n: int) -> Record:
    """GCSE's (candidate, candidate, negative) pair from an unused candidate: no facts to keep (a self pair)."""
    return replace(
        r,
        anchor_id=f"{r.anchor_id}~{role}{n}",
        anchor=text,
        positive=text,
        negative=r.negative,
        negative_kind=r.negative_kind,
        entities=[],
        quantities=[],
        changed_fact=None,
        checks={f"reselect_reemitted_{role}": 1.0},
        raw={},
        scores=[],
        prompt_ids=list(r.prompt_ids),
        exemplar_ids=list(r.exemplar_ids),
    )


def add_emitted_rows(
    annotator: Any,
    name: str,
    rows: list[dict[str, Any]],
    checked: list[dict[str, Any]],
    records: dict[int, Record],
    to_row: Callable[[Record, dict[str, Any]], dict[str, Any]],
) -> int:
    """Curate's hook: rows for the records an annotate step emitted (`take_emitted()` -> [(parent, record,
    annotation columns)]), kept, with the parent's provenance, appended so that later filters and the writers
    see them. `records` maps a row (by id) to the record it holds; a parent is matched by that map."""
    take = getattr(annotator, "take_emitted", None)
    if take is None:
        return 0
    parents = {id(rec): row for row in checked for rec in [records[id(row)]]}
    added = 0
    for parent, rec, columns in take():
        row = to_row(rec, dict(parents[id(parent)].get("provenance") or {}))
        row.update(columns)
        row["verdicts"] = [{"stage": name, "kept": True, "reason": None}]
        rows.append(row)
        checked.append(row)
        records[id(row)] = rec
        added += 1
    return added
