"""Sentences of the STS evaluation sets, for decontamination (pairs and scores are the evaluator's job).

STS-B dev/test ship with the package (trainers/data/stsbenchmark). `pipelines` does not import
`trainers`, so the files are read by path, beside this package in the same install. STS12-16 and
SICK-R come from a user's directory (formats in shared/data/README.md): every `STS.input.*.txt`
(sentence1, sentence2 in the first two fields) and every `SICK*.txt` (header with sentence_A,
sentence_B) under it. Unscored pairs are included: a test sentence is a test sentence.
"""

from __future__ import annotations

import csv
from pathlib import Path

STSB_DIR = Path(__file__).resolve().parents[2] / "trainers" / "data" / "stsbenchmark"
SHIPPED = ("stsb-dev", "stsb-test")


class EvalSetError(FileNotFoundError):
    """An evaluation set the recipe names cannot be read; the message names the path."""


def _rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        return [row for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


def stsb_sentences(split: str, directory: Path | None = None) -> list[str]:
    """Both sentences of every pair in the normalized `score<TAB>s1<TAB>s2` file (header skipped)."""
    path = (directory or STSB_DIR) / f"sts-{split}.tsv"
    if not path.exists():
        raise EvalSetError(f"{path}: STS-B {split} file not found")
    return [s for row in _rows(path)[1:] if len(row) >= 3 for s in row[1:3]]


def sts_input_sentences(path: Path) -> list[str]:
    """SemEval `STS.input.<subset>.txt`: sentence1<TAB>sentence2[<TAB>notes...]."""
    return [s for row in _rows(path) if len(row) >= 2 for s in row[:2]]


def sick_sentences(path: Path) -> list[str]:
    """SICK: a header naming sentence_A and sentence_B, one pair per line (CRLF tolerated)."""
    rows = _rows(path)
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    try:
        a, b = header.index("sentence_A"), header.index("sentence_B")
    except ValueError:
        raise EvalSetError(f"{path}: SICK file without sentence_A / sentence_B header columns") from None
    return [s.strip() for row in rows[1:] if len(row) > max(a, b) for s in (row[a], row[b])]


def user_sets(data_dir: Path) -> dict[str, list[str]]:
    """name -> sentences for every STS12-16 subset file and SICK file under a user's directory."""
    if not data_dir.is_dir():
        raise EvalSetError(f"{data_dir}: evaluation data directory not found")
    out: dict[str, list[str]] = {}
    for p in sorted(data_dir.rglob("STS.input.*.txt")):
        out[f"{p.parent.name}/{p.name[len('STS.input.') : -4]}"] = sts_input_sentences(p)
    for p in sorted(data_dir.rglob("SICK*.txt")):
        out[p.stem] = sick_sentences(p)
    if not out:
        raise EvalSetError(f"{data_dir}: no STS.input.*.txt or SICK*.txt files found")
    return out


def eval_sentences(sets: list[str], data_dir: str | None, stsb_dir: str | None) -> dict[str, list[str]]:
    """The sentences of the named shipped sets plus every set found in `data_dir`."""
    out = {name: stsb_sentences(name.split("-")[1], Path(stsb_dir) if stsb_dir else None) for name in sets}
    if data_dir:
        out.update(user_sets(Path(data_dir)))
    return out
