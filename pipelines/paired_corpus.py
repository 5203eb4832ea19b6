"""Existing labelled or paired data as a corpus: NLI, SimCSE CSV, or any table with a column mapping.

CLHAIF (Cheng et al., 2023) scores human NLI triplets with an LLM judge and trains on the soft labels;
MultiCSR (Wang et al., 2024) refines an existing triplet set with its scoring and filtering rules. Both start
from data that already has pairs, so here each distinct anchor becomes an `Anchor` whose `given` field carries
its rows (as JSON: positive / negative / text_b / score, and the source lines), and the `existing` task turns
them into records the judge scores and the filters refine, with no generation.

Kinds (`[corpus] kind`):
- `nli`: premise, hypothesis, label; SNLI/MNLI jsonl field names (`sentence1`, `sentence2`, `gold_label`), the
  Hugging Face names (`premise`, `hypothesis`, `label` with 0/1/2 = entailment/neutral/contradiction) or the
  same in a .tsv/.csv/.parquet. Per premise, entailment i pairs with contradiction i (SimCSE's supervised
  triplets); the rest stand alone; neutral hypotheses become scored pairs (`text_b`). `-` labels are rejected.
- `simcse`: SimCSE's CSV `sent0,sent1,hard_neg` (hard_neg optional): one triplet per line.
- `columns`: `[corpus] columns = {anchor = "...", positive = "...", negative = "...", text_b = "...",
  score = "..."}` over any .jsonl/.csv/.tsv/.parquet; `anchor` and one more are required.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any, Iterator

from pipelines.corpus import Corpus, CorpusError, CorpusReject, normalise
from synth.records import Anchor

KINDS = ("nli", "simcse", "columns")
ROLES = ("anchor", "positive", "negative", "text_b", "score")
NLI_FIELDS = {
    "anchor": ("sentence1", "premise"),
    "hypothesis": ("sentence2", "hypothesis"),
    "label": ("gold_label", "label"),
}
NLI_LABELS = {
    "entailment": "entailment",
    "neutral": "neutral",
    "contradiction": "contradiction",
    "0": "entailment",
    "1": "neutral",
    "2": "contradiction",
}


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """(1-based line, row) from .jsonl/.csv/.tsv/.parquet; a line that is not a record yields None."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        for i, ln in enumerate(path.read_bytes().split(b"\n")):
            if not ln.strip():
                continue
            try:
                obj = json.loads(ln)
            except (UnicodeDecodeError, json.JSONDecodeError):
                obj = None
            yield i + 1, obj if isinstance(obj, dict) else None
    elif suffix in (".csv", ".tsv"):
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        text = path.read_text(encoding="utf-8", errors="replace")
        reader = csv.DictReader(
            io.StringIO(text),
            delimiter="\t" if suffix == ".tsv" else ",",
            quoting=csv.QUOTE_NONE if suffix == ".tsv" else csv.QUOTE_MINIMAL,
        )
        for i, row in enumerate(reader):
            yield i + 2, row
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        for i, row in enumerate(pq.read_table(path).to_pylist()):
            yield i + 1, row
    else:
        raise CorpusError(
            f"{path}: unsupported extension {suffix!r} for a paired corpus (corpus.path); "
            f"supported: .jsonl, .csv, .tsv, .parquet"
        )


def _pick(row: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((row[n] for n in names if n in row and row[n] is not None), None)


def _fields(kind: str, columns: dict[str, str] | None) -> dict[str, tuple[str, ...]]:
    if kind == "nli":
        return {k: ((columns or {})[k],) if columns and k in columns else v for k, v in NLI_FIELDS.items()}
    if kind == "simcse":
        return {"anchor": ("sent0",), "positive": ("sent1",), "negative": ("hard_neg",)}
    if not columns or "anchor" not in columns or len(set(columns) & set(ROLES[1:])) == 0:
        raise CorpusError(
            "corpus.kind = 'columns' needs corpus.columns with 'anchor' and at least one of "
            f"{list(ROLES[1:])}; got {columns}"
        )
    unknown = sorted(set(columns) - set(ROLES))
    if unknown:
        raise CorpusError(f"corpus.columns: unknown role(s) {unknown}; allowed: {list(ROLES)}")
    return {role: (col,) for role, col in columns.items()}


def _text(value: Any, min_chars: int, max_chars: int) -> tuple[str | None, str | None]:
    """(normalised text, None) or (None, reject reason)."""
    text = normalise(str(value).lstrip("\ufeff")) if value is not None else ""
    if not text:
        return None, "missing_field"
    if len(text) > max_chars:
        return None, "too_long"
    if len(text) < min_chars:
        return None, "too_short"
    return text, None


def read_paired_corpus(
    path: str,
    kind: str,
    *,
    columns: dict[str, str] | None = None,
    min_chars: int = 10,
    max_chars: int = 500,
    limit: int | None = None,
    skip: int = 0,
) -> Corpus:
    """Anchors in file order, each carrying its rows in `given`; bad rows recorded with line and reason."""
    from pipelines.corpus import resolve_path

    if kind not in KINDS:
        raise CorpusError(f"corpus.kind {kind!r} is not a paired kind; allowed: {list(KINDS)}")
    p = resolve_path(path)
    if not p.is_file():
        raise CorpusError(f"corpus file not found: {p} (corpus.path)")
    fields = _fields(kind, columns)
    corpus = Corpus(anchors=[], source=str(path))
    items: dict[str, list[dict[str, Any]]] = {}
    first: dict[str, tuple[str, int]] = {}
    for line, row in _rows(p):
        if row is None:
            corpus.rejects.append(CorpusReject(line, "bad_record", ""))
            continue
        item, reason = _item(row, kind, fields, min_chars, max_chars)
        if item is None:
            corpus.rejects.append(CorpusReject(line, reason or "bad_record", str(_pick(row, fields["anchor"]))[:60]))
            continue
        anchor = item.pop("anchor")
        item["lines"] = [line]
        key = anchor.lower()
        first.setdefault(key, (anchor, line))
        items.setdefault(key, []).append(item)
    for key, (anchor, line) in first.items():
        given = _pair_nli(items[key]) if kind == "nli" else items[key]
        corpus.anchors.append(
            Anchor(
                text=anchor, source=str(path), line=line, given=json.dumps(given, ensure_ascii=False, sort_keys=True)
            )
        )
    corpus.anchors = corpus.anchors[skip:]
    if limit is not None:
        corpus.anchors = corpus.anchors[:limit]
    if not corpus.anchors:
        raise CorpusError(f"{p}: no usable row for corpus.kind = {kind!r} (rejects by reason: {corpus.counts()})")
    return corpus


def _item(
    row: dict[str, Any], kind: str, fields: dict[str, tuple[str, ...]], min_chars: int, max_chars: int
) -> tuple[dict[str, Any] | None, str | None]:
    missing = [
        f[0]
        for role, f in fields.items()
        if role in ("anchor", "hypothesis", "label", "positive") and _pick(row, f) is None
    ]
    if missing:
        return None, f"missing_field:{missing[0]}"
    anchor, reason = _text(_pick(row, fields["anchor"]), min_chars, max_chars)
    if anchor is None:
        return None, reason
    out: dict[str, Any] = {"anchor": anchor}
    if kind == "nli":
        label = NLI_LABELS.get(str(_pick(row, fields["label"])).strip().lower())
        if label is None:
            return None, "no_gold_label"
        hyp, reason = _text(_pick(row, fields["hypothesis"]), 1, max_chars)
        if hyp is None:
            return None, reason
        return {**out, "label": label, "text": hyp}, None
    for role in ("positive", "negative", "text_b"):
        if role in fields and _pick(row, fields[role]) not in (None, ""):
            text, reason = _text(_pick(row, fields[role]), 1, max_chars)
            if text is None:
                return None, f"{reason}:{role}"
            out[role] = text
    if "score" in fields and _pick(row, fields["score"]) not in (None, ""):
        try:
            out["score"] = float(_pick(row, fields["score"]))
        except ValueError:
            return None, "bad_score"
    if len(out) == 1:
        return None, "no_pair"
    return out, None


def _pair_nli(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entailment i with contradiction i (a SimCSE triplet), leftovers alone, neutrals as scored pairs."""
    ent = [r for r in rows if r["label"] == "entailment"]
    con = [r for r in rows if r["label"] == "contradiction"]
    out: list[dict[str, Any]] = []
    for i in range(max(len(ent), len(con))):
        item: dict[str, Any] = {"lines": []}
        if i < len(ent):
            item["positive"] = ent[i]["text"]
            item["lines"] += ent[i]["lines"]
        if i < len(con):
            item["negative"] = con[i]["text"]
            item["lines"] += con[i]["lines"]
        out.append(item)
    out += [{"text_b": r["text"], "lines": r["lines"], "label": "neutral"} for r in rows if r["label"] == "neutral"]
    return out
