"""Compare two datasets written by `synth run` / `synth filter`: same row ids, same texts, same verdicts.

Evidence that a refactor left a run's output unchanged (issue 16: the quickstart's dataset before and after the
tasks moved onto the single-round base). Kept and rejected rows are both compared, by id; what is compared is the
content (anchor, positive, negative, text_b, ranked, negative_kind, the raw LLM outputs) and the outcome (kept,
reason), not timings or the run's paths.

    python scripts/compare_datasets.py BEFORE/dataset AFTER/dataset     # exit 0: identical, 1: differences
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

CONTENT = (
    "task",
    "anchor_id",
    "anchor",
    "positive",
    "negative",
    "negative_kind",
    "text_b",
    "ranked",
    "raw",
    "kept",
    "reason",
)


def load_rows(dataset: Path) -> dict[str, dict[str, Any]]:
    """Every kept and rejected row of a dataset dir, by id, with the compared columns only."""
    files = sorted((dataset / "data").glob("*.parquet")) + sorted((dataset / "rejects").glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"{dataset}: no data/*.parquet or rejects/*.parquet (not a dataset dir?)")
    rows: dict[str, dict[str, Any]] = {}
    for f in files:
        for row in pq.read_table(f, columns=["id", *CONTENT]).to_pylist():
            if row["id"] in rows:
                raise ValueError(f"{f}: id {row['id']} appears twice in {dataset}")
            rows[row["id"]] = {k: row[k] for k in CONTENT}
    return rows


def compare(before: Path, after: Path) -> list[str]:
    """Lines describing every difference; empty when the datasets hold the same rows."""
    a, b = load_rows(before), load_rows(after)
    out = [f"only in {before}: {i}" for i in sorted(a.keys() - b.keys())]
    out += [f"only in {after}: {i}" for i in sorted(b.keys() - a.keys())]
    for i in sorted(a.keys() & b.keys()):
        out += [f"{i} {k}: {a[i][k]!r} -> {b[i][k]!r}" for k in CONTENT if a[i][k] != b[i][k]]
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    before, after = (Path(p) for p in argv)
    diffs = compare(before, after)
    rows = load_rows(before)
    kept = sum(bool(r["kept"]) for r in rows.values())
    if diffs:
        print(f"{len(diffs)} differences between {before} and {after}:")
        print("\n".join(diffs[:50]))
        return 1
    print(f"identical: {len(rows)} rows ({kept} kept), same ids, texts, raw outputs and verdicts")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
