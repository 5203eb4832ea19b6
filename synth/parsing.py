"""Read an LLM's answer into a clean sentence or a reason why not; never raises on model text."""

from __future__ import annotations

import json
import re

# Bump when a change here (or in a task's parse step) changes what a completion is read as: generated shard
# keys include it, so the next run regenerates instead of keeping rows parsed the old way.
PARSER_VERSION = 1

_LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:(?:here(?:'s| is)\s+(?:a|an|the|my)?\s*)?(?:new|rewritten|revised|modified|paraphrased|"
    r"contradict(?:ing|ory)|negated|altered|resulting|final|output|answer|result|sentence|paraphrase|positive|"
    r"negative|hypothesis|entailment|contradiction|response|rewrite|text)(?:\s+(?:sentence|version|text|phrase))?"
    r"|assistant|output|answer)\s*(?:\d+)?\s*(?:\*\*)?\s*[:\-–]\s*(?:\*\*)?\s*",
    re.IGNORECASE,
)
_QUOTES = "\"'“”‘’`«»"
_PAREN_COMMENT = re.compile(r"\s*\((?:note|this|i |the original|changed|explanation)[^)]*\)\s*$", re.IGNORECASE)


def clean_sentence(text: str | None) -> tuple[str | None, str | None]:
    """Strip quotes, labels ("Sentence:", "Rewritten sentence:") and trailing commentary.

    Returns (sentence, None) or (None, reason) with reason one of: empty, only_label.
    """
    if text is None:
        return None, "empty"
    lines = [ln.strip() for ln in text.replace("\r", "\n").split("\n")]
    lines = [ln for ln in lines if ln]
    if not lines:
        return None, "empty"
    first = lines[0]
    stripped = _LABEL.sub("", first, count=1).strip()
    if not stripped and len(lines) > 1:  # a label alone on its line: the sentence follows
        stripped = _LABEL.sub("", lines[1], count=1).strip()
    if not stripped:
        return None, "only_label"
    s = stripped.strip().lstrip("-•*> ").strip()
    s = _PAREN_COMMENT.sub("", s)
    if len(s) >= 2 and s[0] in _QUOTES:
        end = max(s.rfind(q) for q in _QUOTES)
        s = s[1:end] if end > 0 else s[1:]
    s = s.strip().strip(_QUOTES).strip()
    s = s.replace("**", "").strip()
    if not s:
        return None, "empty"
    return s, None


def parse_json_object(text: str, keys: tuple[str, ...] = ()) -> tuple[dict | None, str | None]:
    """The first JSON object in `text` with the required keys, tolerating code fences and prose around it."""
    if not text or not text.strip():
        return None, "empty"
    start = text.find("{")
    if start < 0:
        return None, "not_json"
    depth, in_str, esc = 0, False, False
    for i in range(start, len(text)):
        c = text[i]
        if in_str:
            esc = (c == "\\") and not esc
            if c == '"' and not esc:
                in_str = False
            elif c != "\\":
                esc = False
            continue
        if c == '"':
            in_str = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                try:
                    obj = json.loads(text[start : i + 1])
                except json.JSONDecodeError:
                    return None, "bad_json"
                if not isinstance(obj, dict):
                    return None, "not_object"
                missing = [k for k in keys if k not in obj]
                return (None, f"missing_keys:{','.join(missing)}") if missing else (obj, None)
    return None, "truncated_json"


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def first_number(text: str) -> float | None:
    m = _NUMBER.search(text or "")
    return float(m.group()) if m else None
