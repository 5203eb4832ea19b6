"""LLM-score thresholds (MultiCSR self-curation, Wang et al., NAACL 2024, `flan_filter.py` preset 15).

Keep a triplet when positive_score >= min_positive, negative_score <= max_negative and (with
`require_gap`) positive_score != negative_score. Before that, when the judge scored the negative above
the positive the two sentences are swapped (MultiCSR's generation step does the same) by the filter's
annotate step (`ReorientAnnotator`), and the row says so: `swapped = true`. Scores come from the judge
task (`Record.positive_score`, `Record.negative_score`); records without them are kept (marked
`no_scores = true`) or rejected as `no_scores`, as configured.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar, Literal, Sequence

from pydantic import Field

from pipelines.filters.base import Columns, FilterSpec, empty_columns
from synth.records import Record

# annotation columns that belong to one side of the pair and move with it when the pair is swapped
SIDE_COLUMNS = (("cos_pos", "cos_neg"), ("cos_pos_key", "cos_neg_key"))


class ThresholdsSpec(FilterSpec):
    name: Literal["thresholds"] = "thresholds"
    min_positive: float = Field(3.0, description="keep when positive_score >= this")
    max_negative: float = Field(3.0, description="keep when negative_score <= this")
    require_gap: bool = Field(True, description="reject when positive_score == negative_score")
    swap_reversed: bool = Field(True, description="swap positive and negative when negative_score > positive_score")
    missing: Literal["keep", "reject"] = Field("keep", description="records without the needed scores")


def swapped_pair(record: Record) -> Record:
    """A copy with positive and negative exchanged, with everything attached to each side (scores)."""
    flip = {"positive": "negative", "negative": "positive"}
    return replace(
        record,
        positive=record.negative,
        negative=record.positive,
        positive_score=record.negative_score,
        negative_score=record.positive_score,
        scores=[replace(s, target=flip.get(s.target, s.target)) for s in record.scores],
    )


def swap_columns(columns: Columns, i: int) -> None:
    """Exchange the i-th record's per-side annotation values (cosines and their keys)."""
    for a, b in SIDE_COLUMNS:
        columns[a][i], columns[b][i] = columns[b][i], columns[a][i]


def unswap_row(row: dict[str, Any]) -> dict[str, Any]:
    """Undo an earlier run's swap on a stored row (any schema version), so re-filtering starts from the
    generated pair."""
    from pipelines.schema import record_to_row, row_to_record, upgrade_row

    row = upgrade_row(row)
    if not row.get("swapped"):
        return row
    fresh = record_to_row(swapped_pair(row_to_record(row)), row["provenance"])
    out = {
        **row,
        **{k: fresh[k] for k in ("positive", "negative", "positive_score", "negative_score", "scores")},
        "swapped": None,
    }
    for a, b in SIDE_COLUMNS:
        out[a], out[b] = row[b], row[a]
    return out


def _has_scores(r: Record) -> bool:
    return not (
        (r.positive is not None and r.positive_score is None) or (r.negative is not None and r.negative_score is None)
    )


class ReorientAnnotator:
    """The thresholds filter's annotate step: a pair the judge scored the other way round becomes a swapped copy
    (`swapped` column, cosines moved with their sides); a pair without scores is marked (`no_scores`)."""

    name: ClassVar[str] = "thresholds"

    def __init__(self, spec: ThresholdsSpec):
        self.spec = spec

    def annotate(self, records: Sequence[Record], columns: Columns) -> list[Record]:
        out = []
        for i, r in enumerate(records):
            if r.positive is None and r.negative is None:
                out.append(r)
                continue
            if not _has_scores(r):
                columns["no_scores"][i] = True
            elif (
                r.positive is not None
                and r.negative is not None
                and self.spec.swap_reversed
                and r.negative_score > r.positive_score
            ):
                r = swapped_pair(r)
                swap_columns(columns, i)
                columns["swapped"][i] = True
            out.append(r)
        return out


class ThresholdsFilter:
    name: ClassVar[str] = "thresholds"

    def __init__(self, spec: ThresholdsSpec):
        self.spec = spec
        self.annotator = ReorientAnnotator(spec)

    def verdict(self, r: Record) -> str | None:
        s = self.spec
        has_pos, has_neg = r.positive is not None, r.negative is not None
        if not has_pos and not has_neg:
            return None  # ranked lists and scored pairs carry no positive/negative to threshold
        if not _has_scores(r):
            return "no_scores" if s.missing == "reject" else None
        if has_pos and r.positive_score < s.min_positive:
            return "positive_score_low"
        if has_neg and r.negative_score > s.max_negative:
            return "negative_score_high"
        if has_pos and has_neg and s.require_gap and r.positive_score == r.negative_score:
            return "no_gap"
        return None

    def verdicts(self, records: Sequence[Record], columns: Columns | None = None) -> list[str | None]:
        """Verdicts on the (reoriented) records; reoriented here first, on copies, when no columns are given."""
        if columns is None:
            records = self.annotator.annotate(records, empty_columns(len(records)))
        return [self.verdict(r) for r in records]
