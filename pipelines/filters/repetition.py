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
# ASCII text (almost all generated text): bytes that are not \w become spaces, then one split in C
_ASCII_WORD_BYTES = bytes(c if c < 128 and (chr(c).isalnum() or c == ord("_")) else 32 for c in range(256))


def words(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


def _fast_words(text: str) -> list[str] | list[bytes]:
    """`words(text)`, as bytes when the text is ASCII (same words, lengths and order, several times faster)."""
    if text.isascii():
        return text.encode("ascii").lower().translate(_ASCII_WORD_BYTES).split()
    return words(text)


def _repeats(ws: list, n: int) -> bool:
    """Whether some word n-gram occurs twice."""
    if len(ws) <= n:
        return False
    grams = ws if n == 1 else zip(*(ws[i:] for i in range(n)))
    return len(set(grams)) < len(ws) - n + 1


def top_ngram_share(ws: list, n: int) -> float:
    """Share of word characters covered by the most frequent n-gram (0 when no n-gram repeats)."""
    total = sum(map(len, ws))
    if len(ws) < n or not total:
        return 0.0
    gram, count = Counter(tuple(ws[i : i + n]) for i in range(len(ws) - n + 1)).most_common(1)[0]
    return 0.0 if count < 2 else min(1.0, sum(map(len, gram)) * count / total)


def duplicated_ngram_fraction(ws: list, n: int) -> float:
    """Fraction of word characters inside n-grams seen earlier in the text."""
    total = sum(map(len, ws))
    if len(ws) < n or not total:
        return 0.0
    seen: set[tuple] = set()
    repeated, i = 0, 0
    while i <= len(ws) - n:
        gram = tuple(ws[i : i + n])
        if gram in seen:
            repeated += sum(map(len, gram))
            i += n
        else:
            seen.add(gram)
            i += 1
    return repeated / total


def repetition_problem(text: str, top: dict[int, float], dup: dict[int, float]) -> str | None:
    """The first threshold `text` exceeds, as a reason (`top_2gram_share`, `dup_5gram_frac`), or None."""
    ws = _fast_words(text)
    if (
        not _repeats(ws, 2)
        and min((*top, *dup), default=2) >= 2
        and min((*top.values(), *dup.values()), default=0.0) >= 0
    ):
        return None  # no 2-gram occurs twice, so no n-gram (n >= 2) does: every statistic is 0 (the common case)
    repeats: dict[int, bool] = {}

    def zero(n: int, limit: float) -> bool:
        """The statistic is 0 and passes: no n-gram repeats (then none longer does either), limit >= 0."""
        if limit < 0 or n < 1:
            return False
        if any(not r for m, r in repeats.items() if m <= n):
            return True
        repeats[n] = _repeats(ws, n)
        return not repeats[n]

    for n, limit in sorted(top.items()):
        if not zero(n, limit) and top_ngram_share(ws, n) > limit:
            return f"top_{n}gram_share"
    for n, limit in sorted(dup.items()):
        if not zero(n, limit) and duplicated_ngram_fraction(ws, n) > limit:
            return f"dup_{n}gram_frac"
    return None
