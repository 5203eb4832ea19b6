"""LLM-score thresholds (MultiCSR self-curation, Wang et al., NAACL 2024, `flan_filter.py` preset 15).

Keep a triplet when positive_score >= min_positive, negative_score <= max_negative and (with
`require_gap`) positive_score != negative_score. Before that, when the judge scored the negative above
the positive the two sentences are swapped (MultiCSR's generation step does the same), and the
record says so: `checks["swapped"] = 1`. Scores come from the judge task (`Record.positive_score`,
`Record.negative_score`); records without them are kept with `checks["no_scores"] = 1` or rejected
as `no_scores`, as configured.
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal, Sequence

from pydantic import Field

from pipelines.filters.base import FilterSpec
from synth.records import Record

# checks that belong to one side of the pair and move with it when the pair is swapped
SIDE_CHECKS = (("cos_pos", "cos_neg"), ("cos_pos_key", "cos_neg_key"))


class ThresholdsSpec(FilterSpec):
    name: Literal["thresholds"] = "thresholds"
    min_positive: float = Field(3.0, description="keep when positive_score >= this")
    max_negative: float = Field(3.0, description="keep when negative_score <= this")
    require_gap: bool = Field(True, description="reject when positive_score == negative_score")
    swap_reversed: bool = Field(True, description="swap positive and negative when negative_score > positive_score")
    missing: Literal["keep", "reject"] = Field("keep", description="records without the needed scores")


def swap_pair(record: Record) -> None:
    """Exchange positive and negative with everything attached to each side (scores, cosines)."""
    record.positive, record.negative = record.negative, record.positive
    record.positive_score, record.negative_score = record.negative_score, record.positive_score
    flip = {"positive": "negative", "negative": "positive"}
    for s in record.scores:
        s.target = flip.get(s.target, s.target)
    for a, b in SIDE_CHECKS:
        va, vb = record.checks.pop(a, None), record.checks.pop(b, None)
        if vb is not None:
            record.checks[a] = vb
        if va is not None:
            record.checks[b] = va


def unswap_row(row: dict[str, Any]) -> dict[str, Any]:
    """Undo an earlier run's swap on a stored row, so re-filtering starts from the generated pair."""
    from pipelines.schema import record_to_row, row_to_record

    checks = {c["name"]: c["value"] for c in row.get("checks") or []}
    if not checks.get("swapped"):
        return row
    rec = row_to_record(row)
    swap_pair(rec)
    rec.checks.pop("swapped", None)
    fresh = record_to_row(rec, row["provenance"])
    return {**row, **{k: fresh[k] for k in ("positive", "negative", "positive_score", "negative_score",
                                            "scores", "checks")}}


class ThresholdsFilter:
    name: ClassVar[str] = "thresholds"

    def __init__(self, spec: ThresholdsSpec):
        self.spec = spec

    def verdict(self, r: Record) -> str | None:
        s = self.spec
        has_pos, has_neg = r.positive is not None, r.negative is not None
        if not has_pos and not has_neg:
            return None  # ranked lists and scored pairs carry no positive/negative to threshold
        if (has_pos and r.positive_score is None) or (has_neg and r.negative_score is None):
            if s.missing == "reject":
                return "no_scores"
            r.checks["no_scores"] = 1.0
            return None
        if has_pos and has_neg and s.swap_reversed and r.negative_score > r.positive_score:
            swap_pair(r)
            r.checks["swapped"] = 1.0
        if has_pos and r.positive_score < s.min_positive:
            return "positive_score_low"
        if has_neg and r.negative_score > s.max_negative:
            return "negative_score_high"
        if has_pos and has_neg and s.require_gap and r.positive_score == r.negative_score:
            return "no_gap"
        return None

    def verdicts(self, records: Sequence[Record]) -> list[str | None]:
        return [self.verdict(r) for r in records]
