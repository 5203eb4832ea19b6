"""What a filter is: named settings plus `verdicts(records)` -> one reason per record (None = keep).

Filters may adjust a record in place (e.g. swap a positive and negative the judge says are reversed)
and say so in `record.checks`. Reasons are short machine-readable strings such as
`positive:copy_of_anchor`; the curate stage stores them per row, so nothing is dropped silently.
"""
from __future__ import annotations

from typing import ClassVar, Protocol, Sequence

from pydantic import BaseModel, ConfigDict

from synth.records import Record


class FilterSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str


class Filter(Protocol):
    name: ClassVar[str]
    spec: FilterSpec

    def verdicts(self, records: Sequence[Record]) -> list[str | None]: ...
