"""Exact and near-duplicate removal across the whole dataset (every shard, every task, in curate order).

The first occurrence of a key is kept; later ones are rejected with a reason naming the kept record's id
(`exact_duplicate@<id>`, `near_duplicate@<id>`). A key is one or more record fields joined, e.g. the
(anchor, positive, negative) triple or a single field; each configured key is checked on its own.
Exact keys compare the normalised text (lower case, no punctuation, single spaces). Near duplicates
use MinHash-LSH over character shingles (`datasketch`); LSH only proposes candidates, which are then
confirmed with the exact Jaccard similarity of the shingle sets, so the threshold is a real boundary.
"""
from __future__ import annotations

from typing import ClassVar, Literal, Sequence

from pydantic import Field, field_validator

from pipelines.filters.base import FilterSpec
from pipelines.filters.rules import norm
from synth.records import Record

KEY_FIELDS = ("anchor", "positive", "negative", "text_b", "ranked")


class DedupSpec(FilterSpec):
    name: Literal["dedup"] = "dedup"
    by: list[str] = Field(default_factory=lambda: ["anchor+positive+negative"], min_length=1,
                            description="fields joined with '+', each key checked separately; fields: "
                                        + ", ".join(KEY_FIELDS))
    exact: bool = True
    near: bool = True
    near_threshold: float = Field(0.85, gt=0, le=1, description="Jaccard of character shingles; >= is a duplicate")
    shingle_chars: int = Field(5, ge=1, le=20)
    num_perm: int = Field(128, ge=16, le=1024)

    @field_validator("by")
    @classmethod
    def _known_fields(cls, keys: list[str]) -> list[str]:
        for key in keys:
            bad = [f for f in key.split("+") if f not in KEY_FIELDS]
            if bad:
                raise ValueError(f"unknown field(s) {bad} in dedup key {key!r}; allowed: {list(KEY_FIELDS)}")
        return keys


def key_parts(record: Record, key: str) -> list[tuple[str, str]] | None:
    """(field, normalised text) for each field of the key; None when the record has none of them."""
    parts = []
    for f in key.split("+"):
        value = getattr(record, f)
        if isinstance(value, list):
            value = " \n ".join(value)
        parts.append((f, norm(value) if value else ""))
    return parts if any(text for _, text in parts) else None


def shingles(parts: list[tuple[str, str]], k: int) -> set[bytes]:
    """Character k-grams of each field, tagged with the field so that fields never match each other."""
    out: set[bytes] = set()
    for f, text in parts:
        grams = {text[i:i + k] for i in range(max(1, len(text) - k + 1))} if text else {""}
        out.update(f"{f}\x1f{g}".encode("utf-8") for g in grams)
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
        hashes = MinHash.bulk(sets, num_perm=s.num_perm, seed=1)
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
