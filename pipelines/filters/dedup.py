"""Exact and near-duplicate removal across the whole dataset (every shard, every task, in curate order).

The first occurrence of a key is kept; later ones are rejected with a reason naming the kept record's id
(`exact_duplicate:<key>@<id>`). A key is one or more record fields joined by `+`, e.g. `positive` or
`anchor+positive+negative`; each configured key is checked on its own. The default key `all` is every
content field (anchor, positive, negative, text_b, ranked), so that two ranked lists or two scored pairs
of the same anchor are not taken for duplicates.
Exact keys compare the normalised text (lower case, no punctuation, single spaces) through an 8-byte hash.
Near duplicates use MinHash-LSH over byte 5-gram shingles (`pipelines.filters.neardup`: signatures from the
compiled `rensa`, band keys in sorted arrays); LSH only proposes candidates, which are then confirmed with
the exact Jaccard similarity of the shingle sets, so the threshold is a real boundary.

State is kept across `batch_verdicts` calls (after `start()`), so the curate stage can stream the dataset
in Arrow batches: it holds hashes, band keys and the kept ids, never the rows' text. `verdicts` is one batch.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar, Literal, Sequence

import numpy as np
from pydantic import Field, field_validator

from pipelines.filters.base import FilterSpec
from pipelines.filters.dedup_state import ExactIndex, IdStore, release_free_memory
from pipelines.filters.neardup import NearIndex, gram_set, jaccard
from pipelines.filters.rules import norm
from synth.records import Record

KEY_FIELDS = ("anchor", "positive", "negative", "text_b", "ranked")
ALL = "all"  # shorthand for every field of KEY_FIELDS


class DedupSpec(FilterSpec):
    name: Literal["dedup"] = "dedup"
    by: list[str] = Field(
        default_factory=lambda: [ALL],
        min_length=1,
        description="keys checked one after the other: 'all' or fields joined with '+' from " + ", ".join(KEY_FIELDS),
    )
    exact: bool = True
    near: bool = True
    near_threshold: float = Field(0.85, gt=0, le=1, description="Jaccard of the shingle sets; >= is a duplicate")
    shingle_chars: int = Field(5, ge=1, le=20, description="shingle length in bytes of UTF-8 text")
    num_perm: int = Field(128, ge=16, le=1024)

    @field_validator("by")
    @classmethod
    def _known_fields(cls, keys: list[str]) -> list[str]:
        for key in keys:
            bad = [f for f in key.split("+") if f not in KEY_FIELDS] if key != ALL else []
            if bad:
                raise ValueError(f"unknown field(s) {bad} in dedup key {key!r}; allowed: {list(KEY_FIELDS)}")
        return keys


def key_parts(record: Record, key: str) -> list[tuple[str, str]] | None:
    """(field, normalised text) for each field of the key; None when the record has none of them."""
    parts = []
    for f in KEY_FIELDS if key == ALL else key.split("+"):
        value = getattr(record, f)
        if isinstance(value, list):
            value = " \n ".join(value)
        parts.append((f, norm(value) if value else ""))
    return parts if any(text for _, text in parts) else None


def shingles(parts: list[tuple[str, str]], k: int) -> set[int]:
    """The k-byte shingles of each field's UTF-8 text, tagged by field so fields never match."""
    return gram_set(parts, k)


__all__ = ["DedupFilter", "DedupSpec", "jaccard", "key_parts", "shingles"]


def _exact_hash(parts: list[tuple[str, str]]) -> int:
    blob = "\x1f".join(f"{f}\x1e{t}" for f, t in parts).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "little")


class DedupFilter:
    name: ClassVar[str] = "dedup"

    def __init__(self, spec: DedupSpec):
        self.spec = spec
        self.start()

    def start(self) -> None:
        """Forget every earlier row: the next batch is the start of a dataset."""
        s = self.spec
        self._ids = IdStore()  # every row's id, on disk: read back only to name a kept row in a reason
        self._seen: dict[str, ExactIndex] = {key: ExactIndex() for key in s.by}
        self._near: dict[str, NearIndex] = {}
        if s.near:
            self._near = {key: NearIndex(s.near_threshold, s.num_perm, s.shingle_chars) for key in s.by}

    def verdicts(self, records: Sequence[Record]) -> list[str | None]:
        """The records as a whole dataset: duplicates among them only."""
        self.start()
        return self.batch_verdicts(records)

    def batch_verdicts(self, records: Sequence[Record]) -> list[str | None]:
        """The next rows of the dataset, checked against every earlier kept row and each other."""
        out: list[str | None] = [None] * len(records)
        ids = [r.id for r in records]
        base = self._ids.extend(ids)
        for key in self.spec.by:
            live = [i for i, why in enumerate(out) if why is None]
            parts = {i: key_parts(records[i], key) for i in live}
            live = [i for i in live if parts[i] is not None]
            if self.spec.exact and live:
                hashes = np.fromiter((_exact_hash(parts[i]) for i in live), dtype=np.uint64, count=len(live))
                earlier = self._seen[key].check(hashes, np.asarray(live, dtype=np.int64) + base)
                for i, e in zip(live, earlier.tolist()):
                    if e >= 0:
                        out[i] = f"exact_duplicate:{key}@{self._ids.get(e)}"
                live = [i for i in live if out[i] is None]
            if self.spec.near and live:
                hits = self._near[key].check([parts[i] for i in live], [ids[i] for i in live])
                for i, kept_id in zip(live, hits):
                    if kept_id is not None:
                        out[i] = f"near_duplicate:{key}@{kept_id}"
        release_free_memory()  # this batch's temporaries: a stream's RSS follows its state, not its history
        return out
