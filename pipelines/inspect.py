"""Print a dataset's counts, rejects by reason and sample records (for `synth inspect`)."""
from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipelines.dataset import read_dataset_rows


def inspect_dataset(path: Path, console: Console, samples: int = 3) -> dict:
    d = Path(path)
    if (d / "dataset" / "stats.json").exists():
        d = d / "dataset"
    stats_file = d / "stats.json"
    if not stats_file.exists():
        raise FileNotFoundError(f"{d}: not a contrastive-synth dataset (no stats.json)")
    stats = json.loads(stats_file.read_text(encoding="utf-8"))
    t = Table(title=f"{d}: {stats['kept']} kept / {stats['rows']} generated")
    for col in ("stage", "in", "kept", "rejected", "reasons"):
        t.add_column(col)
    for s in stats["filters"]:
        t.add_row(s["stage"], str(s["rows_in"]), str(s["rows_out"]), str(s["rows_in"] - s["rows_out"]),
                  ", ".join(f"{k} {v}" for k, v in s["reasons"].items()) or "-")
    console.print(t)
    r = Table(title="rejects by reason")
    r.add_column("reason")
    r.add_column("rows", justify="right")
    for k, v in stats["rejects_by_reason"].items():
        r.add_row(k, str(v))
    console.print(r)
    for row in read_dataset_rows(d)[:samples]:
        fields = {k: row[k] for k in ("task", "anchor", "positive", "negative", "ranked", "positive_score",
                                      "negative_score") if row.get(k) is not None}
        console.print_json(json.dumps(fields, ensure_ascii=False))
    return stats
