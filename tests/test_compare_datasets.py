"""scripts/compare_datasets.py: the before/after evidence of a refactor (issue 16) must see a changed text, a
changed verdict and a missing row, and call equal datasets identical."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "compare_datasets.py"
spec = importlib.util.spec_from_file_location("compare_datasets", SCRIPT)
cd = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cd)


def write(ds: Path, rows: list[dict]) -> Path:
    for sub, kept in (("data", True), ("rejects", False)):
        (ds / sub).mkdir(parents=True)
        part = [r for r in rows if r["kept"] is kept]
        full = [{k: r.get(k) for k in ("id", *cd.CONTENT)} for r in part]
        table = pa.Table.from_pylist(
            full,
            schema=pa.schema(
                [("id", pa.string())]
                + [(k, pa.string()) for k in cd.CONTENT if k not in ("ranked", "raw", "kept")]
                + [
                    ("ranked", pa.list_(pa.string())),
                    ("raw", pa.list_(pa.struct([("name", pa.string()), ("text", pa.string())]))),
                    ("kept", pa.bool_()),
                ]
            ),
        )
        pq.write_table(table, ds / sub / "part-0.parquet")
    return ds


ROWS = [
    {"id": "a", "task": "pairs", "anchor": "A dog runs.", "positive": "A dog is running.", "kept": True},
    {
        "id": "b",
        "task": "pairs",
        "anchor": "A cat sits.",
        "positive": None,
        "kept": False,
        "reason": "parse:positive_empty",
    },
]


def test_identical_datasets_and_each_kind_of_difference(tmp_path, capsys):
    before = write(tmp_path / "before", ROWS)
    assert cd.compare(before, write(tmp_path / "same", ROWS)) == []
    assert cd.main([str(before), str(tmp_path / "same")]) == 0
    assert "identical: 2 rows (1 kept)" in capsys.readouterr().out
    changed = [dict(ROWS[0], positive="A dog sprints."), dict(ROWS[1], kept=True, reason=None)]
    diffs = cd.compare(before, write(tmp_path / "changed", changed))
    assert diffs == [
        "a positive: 'A dog is running.' -> 'A dog sprints.'",
        "b kept: False -> True",
        "b reason: 'parse:positive_empty' -> None",
    ]
    assert cd.compare(before, write(tmp_path / "fewer", ROWS[:1])) == [f"only in {before}: b"]
    assert cd.main([str(before), str(tmp_path / "fewer")]) == 1
