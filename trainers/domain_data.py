"""Domain evaluation data: BIOSSES (biomedical STS) and question -> document retrieval sets.

BIOSSES is GPL-3.0 and not shipped: a user's `data_dir` holds `biosses.tsv` (the shared-data format: header
`score<TAB>sentence1<TAB>sentence2`, 100 pairs, gold 0-4) at its top or in `biosses/`, `BIOSSES/` or
`domain-biomedical/`. The PubMedQA retrieval set (MIT) ships in trainers/data/pubmedqa-retrieval; a copy in
`data_dir` (same folders, or `pubmedqa-retrieval/`) is read first. Retrieval files: `<prefix>_queries.tsv`
(query_id, query), `<prefix>_corpus.tsv` (doc_id, text), `<prefix>_qrels.tsv` (query_id, doc_id, relevance).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from trainers.sts_data import EvalDataError, MissingEvalSet, Pair, read_normalized_tsv

SHIPPED = Path(__file__).parent / "data"
DOMAIN_DIRS = ["", "biosses", "BIOSSES", "domain-biomedical", "pubmedqa-retrieval"]


def _find(data_dir: str | Path | None, name: str) -> Path | None:
    if not data_dir:
        return None
    for sub in DOMAIN_DIRS:
        p = Path(data_dir) / sub / name
        if p.is_file():
            return p
    return None


def load_biosses(data_dir: str | Path | None) -> list[Pair]:
    """The 100 BIOSSES pairs (all of them, as MTEB scores it); MissingEvalSet when no biosses.tsv is found."""
    path = _find(data_dir, "biosses.tsv")
    if path is None:
        raise MissingEvalSet(
            f"biosses: no biosses.tsv in {data_dir} (or its biosses/, domain-biomedical/); "
            "BIOSSES is GPL-3.0 and not shipped"
        )
    return read_normalized_tsv(path)


@dataclass
class RetrievalSet:
    queries: dict[str, str] = field(default_factory=dict)
    corpus: dict[str, str] = field(default_factory=dict)
    relevant: dict[str, set[str]] = field(default_factory=dict)


def _table(path: Path, header: list[str]) -> list[tuple[int, list[str]]]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or [h.strip() for h in rows[0][: len(header)]] != header:
        raise EvalDataError(f"{path}:1: header must be {'<TAB>'.join(header)}")
    out = []
    for i, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) < len(header):
            raise EvalDataError(f"{path}:{i}: {len(row)} fields, expected {len(header)}")
        out.append((i, row))
    return out


def load_retrieval(prefix: str, data_dir: str | Path | None) -> RetrievalSet:
    """A retrieval set from data_dir, else the shipped copy; every qrel must name a known query and document."""
    names = [f"{prefix}_{part}.tsv" for part in ("queries", "corpus", "qrels")]
    paths = [_find(data_dir, n) for n in names]
    if not all(paths):
        shipped = [SHIPPED / prefix.replace("_", "-") / n for n in names]
        if not all(p.is_file() for p in shipped):
            raise MissingEvalSet(f"{prefix}: {', '.join(names)} not found in {data_dir} or the package")
        paths = shipped
    qpath, cpath, rpath = paths
    rs = RetrievalSet()
    rs.queries = {r[0].strip(): r[1] for _, r in _table(qpath, ["query_id", "query"])}
    rs.corpus = {r[0].strip(): r[1] for _, r in _table(cpath, ["doc_id", "text"])}
    for i, r in _table(rpath, ["query_id", "doc_id", "relevance"]):
        q, d = r[0].strip(), r[1].strip()
        if q not in rs.queries or d not in rs.corpus:
            raise EvalDataError(
                f"{rpath}:{i}: {'query' if q not in rs.queries else 'document'} "
                f"{q if q not in rs.queries else d!r} is not in {qpath.name} / {cpath.name}"
            )
        try:
            relevance = float(r[2])
        except ValueError:
            raise EvalDataError(f"{rpath}:{i}: relevance {r[2]!r} is not a number") from None
        if relevance > 0:
            rs.relevant.setdefault(q, set()).add(d)
    rs.queries = {q: t for q, t in rs.queries.items() if q in rs.relevant}  # queries without a relevant doc
    if not rs.queries:
        raise EvalDataError(f"{rpath}: no query has a relevant document")
    return rs
