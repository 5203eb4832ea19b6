"""Read STS evaluation pairs from local files (shipped STS-B, or a user's STS12-16 / SICK-R directory).

Formats follow shared/data/README.md. A set whose files are absent is reported missing, never guessed.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

STSB_DIR = Path(__file__).parent / "data" / "stsbenchmark"


@dataclass(frozen=True)
class Pair:
    s1: str
    s2: str
    score: float


class MissingEvalSet(FileNotFoundError):
    pass


def read_normalized_tsv(path: Path) -> list[Pair]:
    """`score<TAB>sentence1<TAB>sentence2` with a header line and no quoting."""
    if not path.exists():
        raise MissingEvalSet(str(path))
    pairs = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader, None)
        for row in reader:
            if len(row) >= 3 and row[0].strip():
                pairs.append(Pair(row[1], row[2], float(row[0])))
    return pairs


def load_stsb(split: str, directory: Path | None = None) -> list[Pair]:
    """STS-B dev or test (gold 0-5) from the shipped copy or a user's directory."""
    if split not in ("dev", "test", "train"):
        raise ValueError(f"STS-B split must be dev, test or train, not {split!r}")
    return read_normalized_tsv((directory or STSB_DIR) / f"sts-{split}.tsv")
