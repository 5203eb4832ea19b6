"""`synth export` (issue 15 item 2): a curated dataset out as SimCSE's CSV and the pair-class NLI form, through
the real CLI on a real Parquet dataset; read back with the readers the other trainers use."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from pipelines.dataset import write_split
from pipelines.export import read_pair_class
from pipelines.schema import record_to_row
from synth.records import Record

SYNTH = str(Path(sys.executable).parent / "synth")
PROV = {"backend": "transformers", "model": "m", "model_hash": "h", "shard": "s", "recipe_hash": "r"}


def _dataset(root: Path) -> Path:
    recs = [
        Record(
            task="pairs",
            anchor_id="a1",
            anchor='A man says "hi", then waves.',
            positive="A man greets.",
            negative="A woman, silent, stands.",
        ),
        Record(task="pairs", anchor_id="a2", anchor="Two dogs run.", positive="Dogs are running."),  # no negative
        Record(
            task="existing", anchor_id="a3", anchor="Kids play.", text_b="Kids play soccer.", raw={"label": "neutral"}
        ),
    ]
    write_split([record_to_row(r, PROV) for r in recs], root / "dataset" / "data", "train")
    rejected = record_to_row(
        Record(task="pairs", anchor_id="a4", anchor="Rejected anchor.", positive="p", negative="n", parse_error="x"),
        PROV,
    )
    write_split([rejected], root / "dataset" / "rejects", "rejects")
    return root


def _cli(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_HOME": str(tmp / "prefect")}
    return subprocess.run([SYNTH, "export", *args], env=env, capture_output=True, text=True, timeout=120)


def test_simcse_csv_and_pair_class_through_the_cli(tmp_path):
    run = _dataset(tmp_path / "run")
    out = tmp_path / "nli_for_simcse.csv"
    res = _cli(str(run), str(out), "--format", "simcse-csv", tmp=tmp_path)
    assert res.returncode == 0, res.stderr
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # exactly the kept triplet, quotes and commas intact; the pair without a negative and the reject stay out
    assert rows == [
        {"sent0": 'A man says "hi", then waves.', "sent1": "A man greets.", "hard_neg": "A woman, silent, stands."}
    ]
    assert "1 rows written, 2 kept rows" in res.stdout.replace("\n", " ")

    pc = tmp_path / "pair_class.jsonl"
    assert _cli(str(run / "dataset"), str(pc), "--format", "pair-class", tmp=tmp_path).returncode == 0
    assert sorted((r["hypothesis"], r["label"]) for r in read_pair_class(pc)) == [
        ("A man greets.", 0),
        ("A woman, silent, stands.", 2),
        ("Dogs are running.", 0),
        ("Kids play soccer.", 1),
    ]


def test_unknown_format_is_a_clear_error(tmp_path):
    run = _dataset(tmp_path / "run")
    res = _cli(str(run), str(tmp_path / "x.csv"), "--format", "tsv", tmp=tmp_path)
    assert res.returncode == 2 and "simcse-csv, pair-class" in res.stdout
    assert not (tmp_path / "x.csv").exists()
