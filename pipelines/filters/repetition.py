"""Repetition statistics of one text, as in the Gopher quality rules (Rae et al. 2021, "Scaling Language Models:
Methods, Analysis & Insights from Training Gopher", Table A1; datatrove's `GopherRepetitionFilter`):

- top n-gram share: characters covered by the most frequent n-gram (its length x its count) over all word
  characters, for short n (2-4); a loop like "the White House, the White House, ..." scores near 1;
- duplicated n-gram fraction: characters inside n-grams that already occurred (non-overlapping, scanned left to
  right as datatrove does) over all word characters, for longer n (5-10).

Words are lower-cased runs of letters/digits, so punctuation and case do not hide a loop. Pure functions over a
string; the rules filter compares them with the recipe's thresholds.
"""
from __future__ import annotations

import re
from collections import Counter

_WORDS = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


def top_ngram_share(ws: list[str], n: int) -> float:
    """Share of word characters covered by the most frequent n-gram (0 when no n-gram repeats)."""
    total = sum(map(len, ws))
    if len(ws) < n or not total:
        return 0.0
    gram, count = Counter(tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)).most_common(1)[0]
    return 0.0 if count < 2 else min(1.0, sum(map(len, gram)) * count / total)


def duplicated_ngram_fraction(ws: list[str], n: int) -> float:
    """Fraction of word characters inside n-grams seen earlier in the text."""
    total = sum(map(len, ws))
    if len(ws) < n or not total:
        return 0.0
    seen: set[tuple[str, ...]] = set()
    repeated, i = 0, 0
    while i <= len(ws) - n:
        gram = tuple(ws[i:i + n])
        if gram in seen:
            repeated += sum(map(len, gram))
            i += n
        else:
            seen.add(gram)
            i += 1
    return repeated / total


def repetition_problem(text: str, top: dict[int, float], dup: dict[int, float]) -> str | None:
    """The first threshold `text` exceeds, as a reason (`top_2gram_share`, `dup_5gram_frac`), or None."""
    ws = words(text)
    if len(set(zip(ws, ws[1:]))) == len(ws) - 1 and min((*top, *dup), default=2) >= 2 \
            and min((*top.values(), *dup.values()), default=0.0) >= 0:
        return None  # no 2-gram occurs twice, so no n-gram (n >= 2) does: every statistic is 0 (the common case)
    for n, limit in sorted(top.items()):
        if top_ngram_share(ws, n) > limit:
            return f"top_{n}gram_share"
    for n, limit in sorted(dup.items()):
        if duplicated_ngram_fraction(ws, n) > limit:
            return f"dup_{n}gram_frac"
    return None
