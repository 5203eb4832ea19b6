"""Read a corpus into Anchors with provenance (file, line), recording every line it cannot use.

Formats: .txt (one sentence per line), .jsonl (a text field), .csv/.tsv (a text column), .parquet.
`builtin:<name>` names a corpus shipped with the package (see pipelines/corpora/*/PROVENANCE.md).
Bad lines (invalid UTF-8, empty, too short or long, duplicates) never stop a run: they are counted and
kept as rejects with their line number and reason.
"""
from __future__ import annotations

import csv
import io
import json
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from synth.records import Anchor

CORPORA_DIR = Path(__file__).parent / "corpora"
BUILTIN = {
    "snli-premises": CORPORA_DIR / "snli-premises" / "snli_premises.txt",
    "pubmedqa-sentences": CORPORA_DIR / "pubmedqa-sentences" / "pubmedqa_sentences.txt",
    "snli-nli-sample": CORPORA_DIR / "snli-nli-sample" / "snli_nli_sample.jsonl",  # labelled: kind = "nli"
}
SUPPORTED = (".txt", ".jsonl", ".csv", ".tsv", ".parquet")


class CorpusError(ValueError):
    """The corpus cannot be read at all (missing file, unsupported format, no usable line)."""


@dataclass
class CorpusReject:
    line: int
    reason: str
    preview: str


@dataclass
class Corpus:
    anchors: list[Anchor]
    rejects: list[CorpusReject] = field(default_factory=list)
    source: str = ""

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {"kept": len(self.anchors)}
        for r in self.rejects:
            out[r.reason] = out.get(r.reason, 0) + 1
        return out


def resolve_path(path: str) -> Path:
    if path.startswith("builtin:"):
        name = path.split(":", 1)[1]
        if name not in BUILTIN:
            raise CorpusError(f"unknown builtin corpus {name!r}; available: {', '.join(sorted(BUILTIN))}")
        return BUILTIN[name]
    return Path(path)


def normalise(text: str) -> str:
    """Unicode NFC, collapsed whitespace: the form used for exact dedup."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _raw_lines(path: Path, text_field: str) -> list[tuple[int, bytes | str]]:
    suffix = path.suffix.lower()
    if suffix == ".txt":
        data = path.read_bytes()
        return [(i + 1, ln) for i, ln in enumerate(data.split(b"\n"))]
    if suffix == ".jsonl":
        out: list[tuple[int, bytes | str]] = []
        for i, ln in enumerate(path.read_bytes().split(b"\n")):
            if not ln.strip():
                continue
            try:
                obj = json.loads(ln)
                out.append((i + 1, str(obj[text_field]) if isinstance(obj, dict) and text_field in obj else b"\x00bad"))
            except UnicodeDecodeError:
                out.append((i + 1, ln))  # rejected as invalid_utf8 below
            except json.JSONDecodeError:
                out.append((i + 1, b"\x00bad"))
        return out
    if suffix in (".csv", ".tsv"):
        # invalid bytes become lone surrogates, rejected per row below (not silently replaced)
        text = path.read_bytes().decode("utf-8", errors="surrogateescape")
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a huge cell is a too_long reject, not a csv.Error
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",")
        if reader.fieldnames is None or text_field not in reader.fieldnames:
            raise CorpusError(f"{path}: no column {text_field!r} (columns: {reader.fieldnames}); "
                              f"set corpus.text_field")
        return [(i + 2, row[text_field] or "") for i, row in enumerate(reader)]
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        if text_field not in table.column_names:
            raise CorpusError(f"{path}: no column {text_field!r} (columns: {table.column_names}); "
                              f"set corpus.text_field")
        return [(i + 1, "" if v is None else str(v)) for i, v in enumerate(table.column(text_field).to_pylist())]
    raise CorpusError(f"{path}: unsupported extension {suffix!r} (corpus.path); supported: {', '.join(SUPPORTED)}")


def read_corpus(path: str, *, text_field: str = "text", min_chars: int = 10, max_chars: int = 500,
                limit: int | None = None, skip: int = 0, kind: str = "text",
                columns: dict[str, str] | None = None) -> Corpus:
    """Anchors from a corpus file in file order, exact duplicates removed, bad lines recorded."""
    if kind != "text":  # labelled / paired data (NLI, SimCSE CSV, mapped columns): its own reader
        from pipelines.paired_corpus import read_paired_corpus

        return read_paired_corpus(path, kind, columns=columns, min_chars=min_chars, max_chars=max_chars,
                                  limit=limit, skip=skip)
    p = resolve_path(path)
    if not p.exists():
        raise CorpusError(f"corpus file not found: {p} (corpus.path)")
    if p.is_dir():
        raise CorpusError(f"corpus path is a directory, not a file: {p} (corpus.path)")
    corpus = Corpus(anchors=[], source=str(path))
    seen: set[str] = set()
    for line_no, raw in _raw_lines(p, text_field):
        if isinstance(raw, bytes):
            if raw == b"\x00bad":
                corpus.rejects.append(CorpusReject(line_no, "bad_record", ""))
                continue
            raw = raw.rstrip(b"\r")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                corpus.rejects.append(CorpusReject(line_no, "invalid_utf8", raw[:60].decode("utf-8", "replace")))
                continue
        else:
            text = raw
            if any("\udc80" <= ch <= "\udcff" for ch in text):  # undecodable bytes (surrogateescape)
                preview = text[:60].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                corpus.rejects.append(CorpusReject(line_no, "invalid_utf8", preview))
                continue
        text = normalise(text.lstrip("\ufeff"))  # a byte-order mark is not part of the first sentence
        if not text:
            continue  # blank lines are layout, not data
        if len(text) > max_chars:
            corpus.rejects.append(CorpusReject(line_no, "too_long", text[:60]))
            continue
        if len(text) < min_chars:
            corpus.rejects.append(CorpusReject(line_no, "too_short", text[:60]))
            continue
        key = text.lower()
        if key in seen:
            corpus.rejects.append(CorpusReject(line_no, "duplicate", text[:60]))
            continue
        seen.add(key)
        corpus.anchors.append(Anchor(text=text, source=str(path), line=line_no))
    corpus.anchors = corpus.anchors[skip:]
    if limit is not None:
        corpus.anchors = corpus.anchors[:limit]
    if not corpus.anchors:
        raise CorpusError(f"{p}: no usable sentence (rejects by reason: {corpus.counts()})")
    return corpus
