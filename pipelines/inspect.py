"""Print a dataset's counts, rejects by reason and sample records (for `synth inspect`).

The filter table is the report's (`pipelines.report.filter_table_rows`), read back from stats.json.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipelines.dataset import read_dataset_rows
from pipelines.refilter import find_dataset_dir
from pipelines.report import TABLE_COLUMNS, filter_table_rows


def print_filter_table(path: Path, console: Console) -> dict:
    """The per-stage filter table of report.md, as a rich table; returns stats.json."""
    d = find_dataset_dir(Path(path))
    stats = json.loads((d / "stats.json").read_text(encoding="utf-8"))
    t = Table(title=f"{d}: {stats['kept']} kept / {stats['rows']} generated")
    for col in TABLE_COLUMNS:
        t.add_column(col, justify="left" if col in ("stage", "reasons") else "right")
    for row in filter_table_rows(stats["filters"]):
        t.add_row(*(str(row[c]).replace(", ", "\n") if c == "reasons" else str(row[c]) for c in TABLE_COLUMNS))
    console.print(t)
    if (d / "report.md").exists():
        console.print(f"report: {d / 'report.md'} (plots in {d / 'plots'})")
    return stats


def inspect_dataset(path: Path, console: Console, samples: int = 3) -> dict:
    d = find_dataset_dir(Path(path))
    stats = print_filter_table(d, console)
    r = Table(title="rejects by reason")
    r.add_column("reason")
    r.add_column("rows", justify="right")
    for k, v in stats["rejects_by_reason"].items():
        r.add_row(k, str(v))
    console.print(r)
    for row in read_dataset_rows(d)[:samples]:
        fields = {
            k: row[k]
            for k in ("task", "anchor", "positive", "negative", "ranked", "positive_score", "negative_score")
            if row.get(k) is not None
        }
        console.print_json(json.dumps(fields, ensure_ascii=False))
    return stats
