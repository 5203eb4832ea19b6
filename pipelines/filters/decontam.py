"""Decontamination: drop records whose sentences overlap the evaluation sets, so STS numbers stay honest.

A sentence is contaminated when its normalised form equals an evaluation sentence, or when more than
`max_overlap` of its word n-grams (default 8-grams: any shared one) occur in an evaluation sentence.
Sentences shorter than n words are compared whole. The reason names the field and the set, e.g.
`positive:ngram@stsb-test`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar, Literal, Sequence

from pydantic import Field, field_validator

from pipelines.filters.base import FilterSpec
from pipelines.filters.evalsets import SHIPPED, eval_sentences
from pipelines.filters.rules import norm
from synth.records import Record

FIELDS = ("anchor", "positive", "negative", "text_b", "ranked")


class DecontamSpec(FilterSpec):
    name: Literal["decontam"] = "decontam"
    sets: list[str] = Field(default_factory=lambda: list(SHIPPED), description=f"shipped sets: {SHIPPED}")
    data_dir: str | None = Field(None, description="directory with STS12-16 (STS.input.*.txt) and SICK files")
    stsb_dir: str | None = Field(None, description="read STS-B sts-{dev,test}.tsv from here instead")
    ngram: int = Field(8, ge=2, le=32, description="word n-gram length")
    max_overlap: float = Field(0.0, ge=0, lt=1, description="reject when the fraction of shared n-grams is above")
    fields: list[str] = Field(default_factory=lambda: list(FIELDS))

    @field_validator("sets")
    @classmethod
    def _shipped(cls, sets: list[str]) -> list[str]:
        bad = [s for s in sets if s not in SHIPPED]
        if bad:
            raise ValueError(f"unknown set(s) {bad}; shipped: {list(SHIPPED)}; put STS12-16/SICK in data_dir")
        return sets

    @field_validator("fields")
    @classmethod
    def _fields(cls, fields: list[str]) -> list[str]:
        bad = [f for f in fields if f not in FIELDS]
        if bad:
            raise ValueError(f"unknown field(s) {bad}; allowed: {list(FIELDS)}")
        return fields


def ngrams(words: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


@lru_cache(maxsize=4)
def build_index(
    sets: tuple[str, ...], data_dir: str | None, stsb_dir: str | None, n: int
) -> tuple[dict[str, str], dict[tuple[str, ...], str]]:
    """(normalised sentence -> set, n-gram -> set) over every evaluation sentence, first set wins."""
    whole: dict[str, str] = {}
    grams: dict[tuple[str, ...], str] = {}
    for name, sentences in eval_sentences(list(sets), data_dir, stsb_dir).items():
        for s in sentences:
            words = norm(s).split()
            whole.setdefault(" ".join(words), name)
            for g in ngrams(words, n):
                grams.setdefault(g, name)
    return whole, grams


class DecontamFilter:
    name: ClassVar[str] = "decontam"

    def __init__(self, spec: DecontamSpec):
        self.spec = spec
        self.whole, self.grams = build_index(tuple(spec.sets), spec.data_dir, spec.stsb_dir, spec.ngram)

    def check(self, text: str) -> str | None:
        """`exact@<set>` / `ngram@<set>` when the sentence overlaps an evaluation set, else None."""
        words = norm(text).split()
        hit = self.whole.get(" ".join(words))
        if hit:
            return f"exact@{hit}"
        mine = ngrams(words, self.spec.ngram)
        if not mine:
            return None
        shared = [self.grams[g] for g in mine if g in self.grams]
        if shared and len(shared) / len(mine) > self.spec.max_overlap:
            return f"ngram@{shared[0]}"
        return None

    def verdicts(self, records: Sequence[Record]) -> list[str | None]:
        out: list[str | None] = []
        for r in records:
            why = None
            for f in self.spec.fields:
                value = getattr(r, f)
                for text in (value if isinstance(value, list) else [value]) if value else []:
                    hit = self.check(text)
                    if hit:
                        why = f"{f}:{hit}"
                        break
                if why:
                    break
            out.append(why)
        return out
