"""Deterministic fact edits for hard negatives: swap one entity, or change one quantity.

The small generator cannot be trusted to change exactly one fact, so the change is chosen and applied
here (GCSE's entity replacement and quantity revision, done in code); the LLM may then only polish the
wording, and the knowledge filter verifies the result against what was targeted.
"""

from __future__ import annotations

import random
import re

from synth.kg.quantities import QuantitySpan, find_quantities
from synth.records import ChangedFact, Entity

_WORD_NUMBERS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]
_ORDINAL_WORDS = [
    "zeroth",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
]
_FRACTION_SWAP = {0.5: "a third", 1 / 3: "half", 2 / 3: "three quarters", 0.25: "half", 0.75: "two thirds"}


def swap_entity(text: str, entity: Entity, replacement: str) -> str | None:
    """`text` with the first occurrence of `entity` replaced (case-insensitive, whole words); None if absent."""
    words = entity.text.split()
    pat = re.compile(r"(?<!\w)" + r"[\s-]+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE)
    m = pat.search(text)
    if not m:
        return None
    new = replacement
    if m.start() == 0 and new[:1].islower():
        new = new[:1].upper() + new[1:]
    return text[: m.start()] + new + text[m.end() :]


def _ordinal_suffix(n: int) -> str:
    return "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _format_like(original: str, value: float) -> str:
    """Render `value` in the style of the number `original` (decimals, thousands separators, words)."""
    digits = original.replace(",", "")
    if re.fullmatch(r"\d*\.\d+", digits):
        decimals = len(digits.split(".")[1])
        return f"{value:,.{decimals}f}" if "," in original else f"{value:.{decimals}f}"
    if re.fullmatch(r"\d+", digits):
        n = int(round(value))
        return f"{n:,}" if "," in original or (n >= 10000 and len(digits) > 4) else str(n)
    n = int(round(value))  # number words: small ones stay words, larger become digits
    if 0 <= n < len(_WORD_NUMBERS):
        word = _WORD_NUMBERS[n]
        return word.capitalize() if original[:1].isupper() else word
    return f"{n:,}"


def _new_value(value: float, kind: str, rng: random.Random, integral: bool) -> float:
    if kind == "date":
        return value + rng.choice([-3, -2, -1, 1, 2, 3])  # applied to the year part
    if kind == "percent" and value <= 100:
        for _ in range(20):
            cand = value * rng.choice([0.5, 0.7, 1.3, 1.6]) if value >= 2 else value + rng.choice([1, 2, 3])
            cand = round(cand) if integral else round(cand, 1)
            if cand != value and 0 < cand <= 100:
                return cand
        return value + 1 if value < 100 else value - 10
    if integral and value < 12:
        return value + rng.choice([1, 2, 3]) if value < 2 else value + rng.choice([-1, 1, 2, 3])
    cand = value * rng.choice([0.5, 0.75, 1.5, 2.0])
    cand = round(cand) if integral else cand
    return cand if cand != value else value + 1


def change_quantity(
    text: str, span: QuantitySpan, rng: random.Random, tries: int = 12
) -> tuple[str, ChangedFact] | None:
    """`text` with one quantity changed to a different, plausible value that the sentence does not already
    mention (so "1995, 1996" never becomes "1996, 1996"); None when it cannot be edited."""
    present = [q.value for q in find_quantities(text)]
    for _ in range(tries):
        res = _change_once(text, span, rng)
        if res is None:
            return None
        old = [q.value for q in find_quantities(res[1].before)]
        if not any(q.value in present for q in find_quantities(res[1].after) if q.value not in old):
            return res
    return None


def _change_once(text: str, span: QuantitySpan, rng: random.Random) -> tuple[str, ChangedFact] | None:
    q = span.quantity
    piece = text[span.num_start : span.num_end]
    if q.kind == "date":
        year = re.search(r"\d{4}", text[span.start : span.end])
        if not year:
            return None
        ys = span.start + year.start()
        new_year = str(int(_new_value(float(year.group()), "date", rng, True)))
        new_text = text[:ys] + new_year + text[ys + 4 :]
        after = new_text[span.start : span.end]
        return new_text, ChangedFact("quantity_change", q.text, after)
    if q.kind == "ordinal":
        n = int(q.value or 1)
        m = n + rng.choice([1, 2]) if n < 3 else n + rng.choice([-1, 1, 2])
        rendered = _ORDINAL_WORDS[m] if piece.isalpha() and m < len(_ORDINAL_WORDS) else f"{m}{_ordinal_suffix(m)}"
    elif q.kind == "fraction":
        if "/" in piece:
            num, den = (int(x) for x in piece.split("/"))
            rendered = f"{num + 1}/{den}" if num + 1 < den else f"{num}/{den + 1}"
        else:
            rendered = next((v for k, v in _FRACTION_SWAP.items() if abs(k - (q.value or 0)) < 1e-6), "a fifth")
            if rendered.lower() == piece.lower():
                rendered = "a fifth"
    else:
        if q.value is None:
            return None
        base = float(piece.replace(",", "")) if re.fullmatch(r"[\d,]*\.?\d+", piece) else q.value
        integral = "." not in piece
        rendered = _format_like(piece, _new_value(base, q.kind, rng, integral))
    if piece[:1].isupper() and rendered[:1].islower():
        rendered = rendered[:1].upper() + rendered[1:]
    new_text = text[: span.num_start] + rendered + text[span.num_end :]
    if new_text == text:
        return None
    after_end = span.end + len(rendered) - (span.num_end - span.num_start)
    before = text[span.start : span.end] if q.kind == "range" else q.text
    return new_text, ChangedFact("quantity_change", before, new_text[span.start : after_end])
