"""What a filter is: named settings plus `verdicts(records)` -> one reason per record (None = keep).

Filters return verdicts and never change the records they judge. What a filter needs computed first (encoder
cosines, a pair reoriented by the judge's scores, ranked-list monotonicity) is its `annotator`: an explicit
step that curate runs on the same records just before the filter, writing typed columns
(`pipelines.schema.ANNOTATIONS`) and possibly returning re-formed records (new objects, never the given ones
changed). Such a filter takes the columns: `verdicts(records, columns)`; called without them it annotates a copy
first. Reasons are short machine-readable strings such as `positive:copy_of_anchor`; the curate stage stores
them per row, so nothing is dropped silently.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, Sequence

from pydantic import BaseModel, ConfigDict

from synth.records import Record

Columns = dict[str, list[Any]]  # annotation column name -> one value per record, in the records' order


class FilterSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str


class Filter(Protocol):
    name: ClassVar[str]
    spec: FilterSpec

    def verdicts(self, records: Sequence[Record]) -> list[str | None]: ...


class Annotator(Protocol):
    """Fills typed columns for the records a filter is about to judge (in `columns`, aligned with `records`) and
    returns the records to judge: the given ones, or re-formed copies (e.g. a reoriented pair)."""

    name: ClassVar[str]

    def annotate(self, records: Sequence[Record], columns: Columns) -> list[Record]: ...


def empty_columns(n: int) -> Columns:
    """Annotation columns with nothing computed yet, for n records."""
    from pipelines.schema import ANNOTATION_COLUMNS

    return {c: [None] * n for c in ANNOTATION_COLUMNS}
