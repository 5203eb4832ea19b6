"""Rule filters on generated sentences: empty, too short/long, copies of the anchor or of a prompt
exemplar, refusals and meta commentary, non-sentences, repetition loops (pipelines/filters/repetition.py), and
positive == negative."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import ClassVar, Literal, Sequence

from pydantic import Field

from pipelines.filters.base import FilterSpec
from pipelines.filters.repetition import repetition_problem
from synth.records import Record

_REFUSAL = re.compile(
    r"\b(as an ai|i (?:can(?:not|'t)|am unable|won't|will not)|i'm (?:sorry|unable|not able)|sorry,|"
    r"language model|i apologi[sz]e|cannot (?:generate|provide|assist|help))",
    re.IGNORECASE,
)
_META = re.compile(
    r"(\b(?:the|this|your|my) (?:original|given|input|provided|above|new|revised|rewritten|modified) "
    r"(?:sentence|text|phrase|statement|input)\b|\bsentence\s*\d*\s*:|\bparaphras|\brewrit|\bhere (?:is|are)\b|"
    r"\bin this sentence\b|\bthe sentence (?:is|means|says|describes)\b|\bexplanation\b|\bnote:)",
    re.IGNORECASE,
)
_NON_SENTENCE = re.compile(r"(https?://|www\.|```|\{|\}|<[^>]+>|\|\s*\w+\s*\|)")
_WORD = re.compile(r"[A-Za-z\u00C0-\u024F]+")
_PUNCT = re.compile(r"[^\w\s]")
# ASCII text (almost every generated sentence) is checked on its bytes in C: words of _WORD are runs of ASCII
# letters there, letters are str.isalpha's, and each regex above runs only when the lower-cased text holds a
# substring that every one of its matches contains (so the decisions are the regexes' own)
_ASCII_LETTER = bytes(c if c < 128 and chr(c).isalpha() else 32 for c in range(256))
_ASCII_NOT_LETTER = bytes(c for c in range(256) if not (c < 128 and chr(c).isalpha()))
_REFUSAL_NEEDS = (
    b"as an ai",
    b"i can",
    b"i am unable",
    b"i won't",
    b"i will not",
    b"i'm ",
    b"sorry,",
    b"language model",
    b"i apologi",
    b"cannot ",
)
_META_NEEDS = (b"sentence", b"text", b"phras", b"statement", b"input", b"rewrit", b"here ", b"explanation", b"note:")


@lru_cache(maxsize=65_536)  # an anchor is normalised for each of its fields, and again by dedup/decontam
def norm(text: str) -> str:
    """Lower-case, punctuation-free, whitespace-collapsed: the form used for copy checks."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


@lru_cache(maxsize=4096)  # an anchor's word count is needed for each of its fields and records
def _word_count(text: str) -> int:
    if text.isascii():
        return len(text.encode("ascii").translate(_ASCII_LETTER).split())
    return len(_WORD.findall(text))


def _flagged(pattern: re.Pattern, needs: tuple[bytes, ...], text: str, low: bytes | None) -> bool:
    """pattern.search(text), skipped when ASCII text (`low`: its lower-cased bytes) lacks every needed part."""
    if low is not None and not any(map(low.__contains__, needs)):
        return False
    return pattern.search(text) is not None


@lru_cache(maxsize=1)
def exemplar_outputs() -> frozenset[str]:
    """Normalised outputs of every shipped few-shot pool: a small model often parrots them."""
    from synth.prompting import PROMPTS_DIR, load_exemplars

    outs = set()
    for p in PROMPTS_DIR.rglob("*exemplars*.jsonl"):
        outs.update(norm(e.output) for e in load_exemplars(str(p)))
        outs.update(norm(e.input) for e in load_exemplars(str(p)))
    return frozenset(outs)


class RulesSpec(FilterSpec):
    name: Literal["rules"] = "rules"
    min_words: int = Field(3, ge=1)
    max_words: int = Field(80, ge=1)
    max_length_ratio: float = Field(3.0, gt=0, description="generated words / anchor words, upper bound")
    reject_exemplar_copies: bool = True
    max_top_ngram_share: dict[int, float] = Field(
        {2: 0.6, 3: 0.65, 4: 0.7},
        description="n -> highest share of word characters the most frequent n-gram may "
        "cover (Gopher's top n-gram rule; defaults measured on the quickstart data, docs/filtering.md)",
    )
    max_dup_ngram_frac: dict[int, float] = Field(
        {3: 0.5, 5: 0.5}, description="n -> highest fraction of word characters in repeated n-grams (Gopher)"
    )


class RulesFilter:
    name: ClassVar[str] = "rules"
    per_row: ClassVar[bool] = True  # a row's verdict needs only the row: curate may run it on another core

    def __init__(self, spec: RulesSpec):
        self.spec = spec

    def check_sentence(self, text: str | None, anchor: str) -> str | None:
        s = self.spec
        if text is None or not text.strip():
            return "empty"
        raw = text.encode("ascii") if text.isascii() else None
        n_words = len(raw.translate(_ASCII_LETTER).split()) if raw is not None else len(_WORD.findall(text))
        if n_words < s.min_words:
            return "too_short"
        if n_words > s.max_words or n_words > s.max_length_ratio * max(_word_count(anchor), 4):
            return "too_long"
        if norm(text) == norm(anchor):
            return "copy_of_anchor"
        if s.reject_exemplar_copies and norm(text) in exemplar_outputs():
            return "copy_of_exemplar"
        low = raw.lower() if raw is not None else None
        if _flagged(_REFUSAL, _REFUSAL_NEEDS, text, low):
            return "refusal"
        if _flagged(_META, _META_NEEDS, text, low):
            return "meta_commentary"
        letters = len(raw.translate(None, _ASCII_NOT_LETTER)) if raw is not None else sum(map(str.isalpha, text))
        if _NON_SENTENCE.search(text) or letters < 0.5 * len(text):
            return "not_a_sentence"
        loop = repetition_problem(text, s.max_top_ngram_share, s.max_dup_ngram_frac)
        return f"repetition_{loop}" if loop else None

    def verdicts(self, records: Sequence[Record]) -> list[str | None]:
        out: list[str | None] = []
        for r in records:
            reason = None
            for field in ("positive", "negative", "text_b"):
                value = getattr(r, field)
                if value is None and field == "text_b":
                    continue
                if value is None and (r.ranked is not None or r.text_b is not None):
                    continue  # ranked lists and scored pairs (CLAIF random pairs) carry no positive/negative
                why = self.check_sentence(value, r.anchor)
                if why:
                    reason = f"{field}:{why}"
                    break
            if reason is None and r.positive and r.negative and norm(r.positive) == norm(r.negative):
                reason = "positive_equals_negative"
            if reason is None and r.ranked:
                for i, step in enumerate(r.ranked):
                    why = self.check_sentence(step, r.anchor)  # length is relative to the anchor for every step
                    if why and why != "copy_of_anchor":
                        reason = f"ranked[{i}]:{why}"
                        break
            out.append(reason)
        return out
