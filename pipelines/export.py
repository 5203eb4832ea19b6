"""Export a curated dataset to the formats other trainers read.

- `simcse-csv`: SimCSE's supervised CSV, header `sent0,sent1,hard_neg` (Gao et al., EMNLP 2021,
  princeton-nlp/SimCSE `run_sup_example.sh` reads exactly these columns): one line per kept row that has an
  anchor, a positive and a hard negative; rows without a negative are counted, not written.
- `pair-class`: sentence-transformers' pair-class NLI form `premise, hypothesis, label` with SNLI's ids
  (0 entailment, 1 neutral, 2 contradiction): the positive as 0, the hard negative as 2, an existing NLI neutral
  pair (`[corpus] kind = "nli"`) as 1. Written as .jsonl or .parquet by the output's suffix.
Only kept rows (`data/`) are exported; rejects never leave.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.dataset import read_dataset_rows
from pipelines.shards import write_table_atomic, write_text_atomic

FORMATS = ("simcse-csv", "pair-class")
ENTAILMENT, NEUTRAL, CONTRADICTION = 0, 1, 2


@dataclass
class ExportResult:
    path: Path
    written: int
    skipped: int  # kept rows the format cannot express (e.g. no hard negative for simcse-csv)


def _dataset_dir(path: Path) -> Path:
    """A dataset dir or a run dir (data/<run>) whose dataset/ it means."""
    if (path / "data").is_dir():
        return path
    if (path / "dataset" / "data").is_dir():
        return path / "dataset"
    raise FileNotFoundError(f"{path}: not a dataset directory (no data/ or dataset/data/ inside)")


def simcse_rows(rows: list[dict[str, Any]]) -> tuple[list[tuple[str, str, str]], int]:
    out = [(r["anchor"], r["positive"], r["negative"]) for r in rows if r.get("positive") and r.get("negative")]
    return out, len(rows) - len(out)


def pair_class_rows(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    out, skipped = [], 0
    for r in rows:
        before = len(out)
        if r.get("positive"):
            out.append({"premise": r["anchor"], "hypothesis": r["positive"], "label": ENTAILMENT})
        if r.get("negative"):
            out.append({"premise": r["anchor"], "hypothesis": r["negative"], "label": CONTRADICTION})
        labels = {x["name"]: x["text"] for x in r.get("raw") or []}
        if r.get("text_b") and labels.get("label") == "neutral":
            out.append({"premise": r["anchor"], "hypothesis": r["text_b"], "label": NEUTRAL})
        skipped += len(out) == before
    return out, skipped


def export_dataset(dataset: Path, out: Path, fmt: str) -> ExportResult:
    """Write `out` atomically in format `fmt`; the dataset is only read."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; allowed: {', '.join(FORMATS)}")
    rows = read_dataset_rows(_dataset_dir(dataset))
    if fmt == "simcse-csv":
        triplets, skipped = simcse_rows(rows)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["sent0", "sent1", "hard_neg"])
        w.writerows(triplets)
        write_text_atomic(buf.getvalue(), out)
        return ExportResult(out, len(triplets), skipped)
    items, skipped = pair_class_rows(rows)
    if out.suffix == ".parquet":
        write_table_atomic(
            pa.Table.from_pylist(
                items, schema=pa.schema([("premise", pa.string()), ("hypothesis", pa.string()), ("label", pa.int64())])
            ),
            out,
        )
    elif out.suffix == ".jsonl":
        write_text_atomic("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in items), out)
    else:
        raise ValueError(f"{out}: pair-class is written as .jsonl or .parquet (got {out.suffix!r})")
    return ExportResult(out, len(items), skipped)


def read_pair_class(path: Path) -> list[dict[str, Any]]:
    """Read an exported pair-class file back (tests, round trips)."""
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
