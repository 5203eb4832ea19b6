"""Exact and near-duplicate removal across the whole dataset (every shard, every task, in curate order).

The first occurrence of a key is kept; later ones are rejected with a reason naming the kept record's id
(`exact_duplicate:<key>@<id>`). A key is one or more record fields joined by `+`, e.g. `positive` or
`anchor+positive+negative`; each configured key is checked on its own. The default key `all` is every
content field (anchor, positive, negative, text_b, ranked), so that two ranked lists or two scored pairs
of the same anchor are not taken for duplicates.
Exact keys compare the normalised text (lower case, no punctuation, single spaces). Near duplicates
use MinHash-LSH over byte 5-gram shingles (`datasketch`); LSH only proposes candidates, which are then
confirmed with the exact Jaccard similarity of the shingle sets, so the threshold is a real boundary.
"""
from __future__ import annotations

import zlib
from typing import ClassVar, Literal, Sequence

from pydantic import Field, field_validator

from pipelines.filters.base import FilterSpec
from pipelines.filters.rules import norm
from synth.records import Record

KEY_FIELDS = ("anchor", "positive", "negative", "text_b", "ranked")
ALL = "all"  # shorthand for every field of KEY_FIELDS


class DedupSpec(FilterSpec):
    name: Literal["dedup"] = "dedup"
    by: list[str] = Field(default_factory=lambda: [ALL], min_length=1,
                          description="keys checked one after the other: 'all' or fields joined with '+' from "
                                      + ", ".join(KEY_FIELDS))
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
    for f in (KEY_FIELDS if key == ALL else key.split("+")):
        value = getattr(record, f)
        if isinstance(value, list):
            value = " \n ".join(value)
        parts.append((f, norm(value) if value else ""))
    return parts if any(text for _, text in parts) else None


def shingles(parts: list[tuple[str, str]], k: int) -> set[int]:
    """k-grams of each field's UTF-8 bytes as 32-bit CRCs, seeded by the field name so fields never match.

    CRC32 is a C call and deterministic across processes (unlike `hash`); MinHash applies its own random
    permutations on top, and the exact Jaccard that decides is over these integers.
    """
    out: set[int] = set()
    for f, text in parts:
        if text:
            data, seed = text.encode("utf-8"), zlib.crc32(f"{f}\x1f".encode("utf-8"))
            out.update(zlib.crc32(data[i:i + k], seed) for i in range(max(1, len(data) - k + 1)))
    return out


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


class DedupFilter:
    name: ClassVar[str] = "dedup"

    def __init__(self, spec: DedupSpec):
        self.spec = spec

    def verdicts(self, records: Sequence[Record]) -> list[str | None]:
        out: list[str | None] = [None] * len(records)
        for key in self.spec.by:
            live = [i for i, why in enumerate(out) if why is None]
            parts = {i: key_parts(records[i], key) for i in live}
            live = [i for i in live if parts[i] is not None]
            if self.spec.exact:
                seen: dict[tuple, int] = {}
                for i in live:
                    k = tuple(parts[i])
                    if k in seen:
                        out[i] = f"exact_duplicate:{key}@{records[seen[k]].id}"
                    else:
                        seen[k] = i
                live = [i for i in live if out[i] is None]
            if self.spec.near and live:
                self._near(records, [parts[i] for i in live], live, key, out)
        return out

    def _near(self, records: Sequence[Record], parts: list, idx: list[int], key: str,
              out: list[str | None]) -> None:
        from datasketch import MinHash, MinHashLSH  # imported here: about 1 s, only when near-dedup runs

        s = self.spec
        sets = [shingles(p, s.shingle_chars) for p in parts]
        hashes = MinHash.bulk(sets, num_perm=s.num_perm, seed=1, hashfunc=int)  # items are already hashes
        # LSH at a slightly lower threshold finds the candidates; exact Jaccard decides.
        lsh = MinHashLSH(threshold=max(0.05, s.near_threshold - 0.1), num_perm=s.num_perm)
        for j, (i, mh) in enumerate(zip(idx, hashes)):
            kept_match = None
            for cand in lsh.query(mh):
                if jaccard(sets[j], sets[cand]) >= s.near_threshold:
                    kept_match = cand if kept_match is None else min(kept_match, cand)
            if kept_match is not None:
                out[i] = f"near_duplicate:{key}@{records[idx[kept_match]].id}"
            else:
                lsh.insert(j, mh)
