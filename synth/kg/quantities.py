"""Rule-based quantity finder: every number in a sentence, normalised to value + unit + kind.

Runs beside any entity extractor so that numbers are never missed (a statistical NER model skips
"two dozen" or tags "50" as a DATE). Kinds: number, percent, money, measure (a number with a unit),
date (value YYYYMMDD, unknown parts 0), ordinal, fraction, range (each bound is its own quantity,
so changing one bound is one changed fact).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from synth.records import Quantity

_ONES = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "twentieth": 20,
    "thirtieth": 30,
    "hundredth": 100,
}
_FRACTIONS = {
    "half": 2,
    "halves": 2,
    "third": 3,
    "thirds": 3,
    "quarter": 4,
    "quarters": 4,
    "fourth": 4,
    "fourths": 4,
    "fifth": 5,
    "fifths": 5,
    "tenth": 10,
    "tenths": 10,
}
MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())})
MONTHS["sept"] = 9
_UNITS = {  # surface form -> normalised unit
    "%": "%",
    "percent": "%",
    "per cent": "%",
    "percentage points": "pp",
    "mg": "mg",
    "g": "g",
    "kg": "kg",
    "µg": "µg",
    "μg": "µg",
    "mcg": "µg",
    "ng": "ng",
    "ml": "ml",
    "mL": "ml",
    "dl": "dl",
    "dL": "dl",
    "l": "l",
    "L": "l",
    "mmol": "mmol",
    "mol": "mol",
    "µmol": "µmol",
    "nmol": "nmol",
    "cm": "cm",
    "mm": "mm",
    "km": "km",
    "m": "m",
    "nm": "nm",
    "µm": "µm",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "min": "min",
    "minute": "min",
    "minutes": "min",
    "s": "s",
    "sec": "s",
    "second": "s",
    "seconds": "s",
    "day": "day",
    "days": "day",
    "week": "week",
    "weeks": "week",
    "month": "month",
    "months": "month",
    "year": "year",
    "years": "year",
    "yr": "year",
    "yrs": "year",
    "°C": "°C",
    "°F": "°F",
    "mmHg": "mmHg",
    "IU": "IU",
    "U": "U",
    "bpm": "bpm",
    "kcal": "kcal",
    "Gy": "Gy",
    "mSv": "mSv",
    "kDa": "kDa",
    "Hz": "Hz",
    "kHz": "kHz",
    "MHz": "MHz",
    "fold": "fold",
    "times": "times",
    "dollars": "USD",
    "euros": "EUR",
    "pounds": "GBP",
    "USD": "USD",
    "EUR": "EUR",
    "GBP": "GBP",
}
_CURRENCY = {"US$": "USD", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}


def _alt(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_NUM = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
_SCALE = r"(?:\s(?:thousand|million|billion|trillion)\b)?"
_UNIT = rf"(?:{_alt(_UNITS)})(?:/(?:{_alt(_UNITS)}))*"
_UNIT_AFTER = rf"(?:\s?(?P<unit>{_UNIT})(?![\w]))?"
_PRE = r"(?<![\w.,/\-])"  # not inside an identifier such as IL-6, H1N1, 3.2.1
_MONTH = rf"(?:{_alt([m.capitalize() for m in MONTHS] + [m.capitalize() + '.' for m in MONTHS if len(m) <= 4])})"
_NUMWORD = _alt(list(_ONES) + list(_TENS) + list(_SCALES) + ["dozen"])

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("date_mdy", re.compile(rf"\b(?P<month>{_MONTH})\s(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s(?P<year>\d{{4}})\b")),
    ("date_dmy", re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s(?P<month>{_MONTH}),?\s(?P<year>\d{{4}})\b")),
    ("date_my", re.compile(rf"\b(?P<month>{_MONTH})(?:,|\sof)?\s(?P<year>\d{{4}})\b")),
    ("date_iso", re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b")),
    ("date_md", re.compile(rf"\b(?P<month>{_MONTH})\s(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s?(?:%|,\d))")),
    ("money", re.compile(rf"(?P<cur>US\$|[$€£¥])\s?(?P<num>{_NUM}{_SCALE})(?:\s?(?P<abbr>bn|[mMkKbB])\b)?")),
    ("range", re.compile(rf"{_PRE}(?P<num>{_NUM})\s?(?:%\s?)?(?:-|–|to)\s?(?P<num2>{_NUM})(?![\d\w.,]){_UNIT_AFTER}")),
    ("range_between", re.compile(rf"\bbetween\s(?P<num>{_NUM})\sand\s(?P<num2>{_NUM})(?![\d\w]){_UNIT_AFTER}")),
    ("fraction", re.compile(rf"{_PRE}(?P<n>\d+)/(?P<d>\d+)(?![\d/\w])")),
    (
        "fraction_words",
        re.compile(
            rf"\b(?:(?P<nw>a|an|one|two|three|four|five|six|seven|eight|nine)[\s-]"
            rf"(?P<dw>{_alt(_FRACTIONS)})|(?P<dw2>half))\b(?!-)",
            re.IGNORECASE,
        ),
    ),
    ("ordinal", re.compile(rf"{_PRE}(?P<n>\d+)(?:st|nd|rd|th)\b|\b(?P<w>{_alt(_ORDINALS)})\b", re.IGNORECASE)),
    (
        "words",
        re.compile(
            rf"\b(?:an?\s)?(?P<words>(?:{_NUMWORD})(?:(?:[\s-]|\sand\s)(?:{_NUMWORD}))*)\b"
            rf"{_UNIT_AFTER}",
            re.IGNORECASE,
        ),
    ),
    ("number", re.compile(rf"{_PRE}(?P<num>{_NUM}{_SCALE})(?:\s?(?P<unit>{_UNIT})(?![\w])|(?![\w]))")),
]
_KIND_PRIORITY = {name: i for i, (name, _) in enumerate(PATTERNS)}


@dataclass(frozen=True)
class QuantitySpan:
    """A quantity found in a text, with where it is and where its (first) number is, for edits."""

    start: int
    end: int
    quantity: Quantity
    num_start: int
    num_end: int


def parse_number(text: str) -> float:
    """'1,200' -> 1200.0, '4.5 million' -> 4.5e6."""
    parts = text.replace(",", "").split()
    value = float(parts[0])
    return value * _SCALES[parts[1].lower()] if len(parts) > 1 else value


def words_to_number(text: str) -> float | None:
    """'two dozen' -> 24, 'One thousand ninety-nine' -> 1099; None for a lone ambiguous word."""
    tokens = [t for t in re.split(r"[\s-]+", text.lower()) if t and t != "and"]
    total, current = 0.0, 0.0
    for t in tokens:
        if t in _ONES:
            current += _ONES[t]
        elif t in _TENS:
            current += _TENS[t]
        elif t == "dozen":
            current = (current or 1) * 12
        elif t == "hundred":
            current = (current or 1) * 100
        elif t in _SCALES:
            total += (current or 1) * _SCALES[t]
            current = 0.0
        else:
            return None
    return total + current


def _unit(m: re.Match[str]) -> str:
    u = m.groupdict().get("unit")
    if not u:
        return ""
    return "/".join(_UNITS.get(p, _UNITS.get(p.lower(), p)) for p in u.split("/"))


def _date_value(m: re.Match[str]) -> float:
    g = m.groupdict()
    month = g.get("month") or "0"
    month_n = int(month) if month.isdigit() else MONTHS.get(month.rstrip(".").lower(), 0)
    year = int(g.get("year") or 0)
    return float(year * 10000 + month_n * 100 + int(g.get("day") or 0))


def _spans_for(name: str, m: re.Match[str]) -> list[QuantitySpan]:
    s, e, text = m.start(), m.end(), m.group(0)
    g = m.groupdict()
    if name.startswith("date"):
        ys = m.start("year") if g.get("year") else m.start("day")
        ye = m.end("year") if g.get("year") else m.end("day")
        return [QuantitySpan(s, e, Quantity(text, _date_value(m), "date", "date"), ys, ye)]
    if name == "money":
        value = parse_number(g["num"])
        value *= {"k": 1e3, "m": 1e6, "b": 1e9, "bn": 1e9}.get((g.get("abbr") or "").lower(), 1)
        return [
            QuantitySpan(
                s,
                e,
                Quantity(text, value, _CURRENCY[g["cur"]], "money"),
                m.start("num"),
                m.start("num") + len(g["num"].split()[0]),
            )
        ]
    if name.startswith("range"):
        unit = _unit(m) or ("%" if "%" in text else "")
        lo, hi = parse_number(g["num"]), parse_number(g["num2"])
        if unit == "" and 1800 <= lo <= 2100 and 1800 <= hi <= 2100 and "." not in text:
            unit = "year-range"
        return [
            QuantitySpan(s, e, Quantity(g["num"], lo, unit, "range"), m.start("num"), m.end("num")),
            QuantitySpan(
                s, e, Quantity(text[m.start("num2") - s :], hi, unit, "range"), m.start("num2"), m.end("num2")
            ),
        ]
    if name == "fraction":
        d = int(g["d"])
        return [] if d == 0 else [QuantitySpan(s, e, Quantity(text, int(g["n"]) / d, "", "fraction"), s, e)]
    if name == "fraction_words":
        num = (g.get("nw") or "a").lower()
        n = 1 if num in ("a", "an") else _ONES[num]
        den = _FRACTIONS[(g.get("dw") or g["dw2"]).lower()]
        return [QuantitySpan(s, e, Quantity(text, n / den, "", "fraction"), s, e)]
    if name == "ordinal":
        n = int(g["n"]) if g.get("n") else _ORDINALS[g["w"].lower()]
        return [QuantitySpan(s, e, Quantity(text, float(n), "", "ordinal"), s, e)]
    if name == "words":
        words = g["words"]
        if words.lower() in ("one", "a", "an") or not words.strip():
            return []  # "one of them", "no one": a pronoun far more often than a count
        value = words_to_number(words)
        if value is None:
            return []
        unit = _unit(m)
        kind = "percent" if unit == "%" else ("measure" if unit else "number")
        return [QuantitySpan(s, e, Quantity(text, value, unit, kind), m.start("words"), m.end("words"))]
    value = parse_number(g["num"])
    unit = _unit(m)
    if unit == "%":
        kind = "percent"
    elif unit:
        kind = "money" if unit in _CURRENCY.values() else "measure"
    elif re.fullmatch(r"(1[89]|20)\d\d", g["num"]):
        return [QuantitySpan(s, e, Quantity(text, value * 10000, "date", "date"), s, e)]
    else:
        kind = "number"
    num_end = m.start("num") + len(g["num"].split()[0])
    return [QuantitySpan(s, e, Quantity(text, value, unit, kind), m.start("num"), num_end)]


def find_quantity_spans(text: str) -> list[QuantitySpan]:
    """All quantities in `text`, left to right; where patterns overlap the longest (then earliest) wins."""
    candidates: list[tuple[int, int, int, str, re.Match[str]]] = []
    for name, pat in PATTERNS:
        for m in pat.finditer(text):
            if m.end() > m.start():
                candidates.append((m.start(), -(m.end() - m.start()), _KIND_PRIORITY[name], name, m))
    candidates.sort(key=lambda c: (c[0], c[1], c[2]))
    taken: list[tuple[int, int]] = []
    out: list[QuantitySpan] = []
    for start, neg_len, _, name, m in sorted(candidates, key=lambda c: (c[1], c[0], c[2])):
        end = start - neg_len
        if any(start < e and s < end for s, e in taken):
            continue
        spans = _spans_for(name, m)
        if spans:
            taken.append((start, end))
            out.extend(spans)
    return sorted(out, key=lambda q: (q.start, q.num_start))


def find_quantities(text: str) -> list[Quantity]:
    return [q.quantity for q in find_quantity_spans(text)]


def quantity_label(q: Quantity) -> str:
    """How a quantity is shown in a prompt's fact list: its surface text."""
    return q.text
