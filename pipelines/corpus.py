"""Read a corpus into Anchors with provenance (file, line), recording every line it cannot use.

Formats: .txt (one sentence per line), .jsonl (a text field), .csv/.tsv (a text column), .parquet.
`builtin:<name>` names a corpus shipped with the package (see pipelines/corpora/*/PROVENANCE.md).
The file is streamed: lines are read one at a time, `skip`/`limit` stop the read as soon as enough anchors
are found, and the exact-duplicate check keeps 8-byte hashes, not texts, so memory does not grow with the file.
Bad lines (undecodable bytes, unpaired surrogates, NUL bytes, malformed JSON/CSV rows, empty, too short or
long, duplicates) never stop a run: each is a reject with its file, line number and reason.
CSV/TSV rows are one per physical line (sentence corpora): a quote left open at the end of a line is a
`malformed_row` reject for that line, never a cell that swallows the rest of the file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

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
    file: str = ""


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


@dataclass(frozen=True)
class _Bad:
    """A line that is not text at all (with why): rejected before any length or duplicate check."""

    reason: str
    preview: str = ""


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


def safe_preview(text: str, n: int = 60) -> str:
    """The first n characters, printable and encodable (surrogates and NULs replaced)."""
    return text[:n].encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def _bytes_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as f:
        for i, ln in enumerate(f):
            yield i + 1, ln.rstrip(b"\n").rstrip(b"\r")


def _decode(raw: bytes) -> str | _Bad:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return _Bad("invalid_utf8", raw[:60].decode("utf-8", "replace"))


def _jsonl(path: Path, text_field: str) -> Iterator[tuple[int, str | _Bad]]:
    for line_no, raw in _bytes_lines(path):
        if not raw.strip():
            continue
        text = _decode(raw)
        if isinstance(text, _Bad):
            yield line_no, text
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            yield line_no, _Bad("bad_record", safe_preview(text))
            continue
        if not isinstance(obj, dict) or text_field not in obj or obj[text_field] is None:
            yield line_no, _Bad("bad_record", safe_preview(text))
        else:
            yield line_no, str(obj[text_field])


def _delimited(path: Path, text_field: str, delimiter: str) -> Iterator[tuple[int, str | _Bad]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a huge cell is a too_long reject, not a csv.Error
    header: list[str] | None = None
    col = 0
    for line_no, raw in _bytes_lines(path):
        text = raw.decode("utf-8", errors="surrogateescape")  # bad bytes: rejected per row below
        try:
            rows = list(csv.reader([text], delimiter=delimiter, strict=True))
        except csv.Error as e:  # a quote left open would otherwise swallow every following line
            if header is None:
                raise CorpusError(f"{path}:{line_no}: malformed header row ({e})") from None
            yield line_no, _Bad("malformed_row", safe_preview(f"{e}: {text}"))
            continue
        if not rows or not rows[0]:
            continue
        row = rows[0]
        if header is None:
            header = row
            if text_field not in header:
                raise CorpusError(f"{path}: no column {text_field!r} (columns: {header}); set corpus.text_field")
            col = header.index(text_field)
            continue
        if len(row) != len(header):
            yield line_no, _Bad("malformed_row", safe_preview(f"{len(row)} fields, header has {len(header)}: {text}"))
            continue
        yield line_no, row[col]
    if header is None:
        raise CorpusError(f"{path}: no column {text_field!r} (columns: None); set corpus.text_field")


def _parquet(path: Path, text_field: str) -> Iterator[tuple[int, str | _Bad]]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    if text_field not in pf.schema_arrow.names:
        raise CorpusError(f"{path}: no column {text_field!r} (columns: {pf.schema_arrow.names}); set corpus.text_field")
    line = 0
    for batch in pf.iter_batches(batch_size=4096, columns=[text_field]):
        for v in batch.column(0).to_pylist():
            line += 1
            yield line, "" if v is None else str(v)


def _raw_lines(path: Path, text_field: str) -> Iterator[tuple[int, str | _Bad]]:
    """(1-based line, text or why it is not text), lazily, in file order."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return ((n, _decode(raw)) for n, raw in _bytes_lines(path))
    if suffix == ".jsonl":
        return _jsonl(path, text_field)
    if suffix in (".csv", ".tsv"):
        return _delimited(path, text_field, "\t" if suffix == ".tsv" else ",")
    if suffix == ".parquet":
        return _parquet(path, text_field)
    raise CorpusError(f"{path}: unsupported extension {suffix!r} (corpus.path); supported: {', '.join(SUPPORTED)}")


def _not_text(text: str) -> _Bad | None:
    """Why a decoded line cannot be an anchor (it could not be written as UTF-8 or would end a C string)."""
    if "\x00" in text:
        return _Bad("nul_byte", safe_preview(text))
    for ch in text:
        if "\ud800" <= ch <= "\udfff":
            # \udc80-\udcff: bytes that were not UTF-8 (surrogateescape); others: e.g. JSON "\ud83d" alone
            reason = "invalid_utf8" if "\udc80" <= ch <= "\udcff" else "unpaired_surrogate"
            if reason == "invalid_utf8":
                return _Bad(reason, text[:60].encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
            return _Bad(reason, safe_preview(text))
    return None


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.lower().encode("utf-8"), digest_size=8).digest()


def read_corpus(
    path: str,
    *,
    text_field: str = "text",
    min_chars: int = 10,
    max_chars: int = 500,
    limit: int | None = None,
    skip: int = 0,
    kind: str = "text",
    columns: dict[str, str] | None = None,
) -> Corpus:
    """Anchors from a corpus file in file order, exact duplicates removed, bad lines recorded.

    The read stops once `skip + limit` anchors are found, so lines after them are never read (nor rejected).
    """
    if kind != "text":  # labelled / paired data (NLI, SimCSE CSV, mapped columns): its own reader
        from pipelines.paired_corpus import read_paired_corpus

        return read_paired_corpus(
            path, kind, columns=columns, min_chars=min_chars, max_chars=max_chars, limit=limit, skip=skip
        )
    p = resolve_path(path)
    if not p.exists():
        raise CorpusError(f"corpus file not found: {p} (corpus.path)")
    if p.is_dir():
        raise CorpusError(f"corpus path is a directory, not a file: {p} (corpus.path)")
    corpus = Corpus(anchors=[], source=str(path))
    seen: set[bytes] = set()
    found = 0
    wanted = None if limit is None else skip + limit

    def reject(line_no: int, reason: str, preview: str) -> None:
        corpus.rejects.append(CorpusReject(line_no, reason, preview, str(path)))

    for line_no, raw in _raw_lines(p, text_field):
        if wanted is not None and found >= wanted:
            break
        bad = raw if isinstance(raw, _Bad) else _not_text(raw)
        if bad is not None:
            reject(line_no, bad.reason, bad.preview)
            continue
        text = normalise(raw.lstrip("\ufeff"))  # a byte-order mark is not part of the first sentence
        if not text:
            continue  # blank lines are layout, not data
        if len(text) > max_chars:
            reject(line_no, "too_long", text[:60])
            continue
        if len(text) < min_chars:
            reject(line_no, "too_short", text[:60])
            continue
        key = _key(text)
        if key in seen:
            reject(line_no, "duplicate", text[:60])
            continue
        seen.add(key)
        found += 1
        if found > skip:
            corpus.anchors.append(Anchor(text=text, source=str(path), line=line_no))
    if not corpus.anchors:
        raise CorpusError(f"{p}: no usable sentence (rejects by reason: {corpus.counts()})")
    return corpus
