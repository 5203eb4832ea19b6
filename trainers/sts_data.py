"""Read STS evaluation pairs from local files (shipped STS-B, or a user's STS12-16 / SICK-R directory).

Formats follow shared/data/README.md. A set whose files are absent is reported missing, never guessed.

A user's `data_dir` may hold (names are matched case-insensitively; SentEval's `data/downstream` works as is):
- STS12..STS16: a folder per year, at the top or under `STS/`, named `STS12-en-test` (SentEval), `STS12`, `sts12`,
  `2012`, `sts-2012` or the SemEval archive's own folder (`test-gold`, `test-gs`, `sts-en-test-gs-2014`,
  `test_evaluation_task2a`, `sts2016-english-with-gs-v1.0`), holding per subset either
  `STS.input.<subset>.txt` + `STS.gs.<subset>.txt` (STS 2016 as SemEval ships it: `STS2016.input.<subset>.txt` /
  `STS2016.gs.<subset>.txt`), or one `score<TAB>sentence1<TAB>sentence2` file per subset (brmson style; empty
  score = unscored; a header line is skipped) named `<subset>.tsv`, `<subset>.test.tsv` or `STS12.<subset>.tsv`.
  Files that are not data (README, LICENSE, attribution notes, scripts) are ignored by name, never parsed;
  train/dev/trial files beside the test files are skipped.
- SICK: `SICK_test_annotated.txt` (pair_ID, sentence_A, sentence_B, relatedness_score, entailment_judgment)
  or the full `SICK.txt` (its SemEval_set column selects TEST), in a folder `SICK`/`sick` or at the top.
- STS-B: `stsbenchmark/sts-{dev,test}.csv` (original) or `.tsv` (normalized), also under `STS/`; else the shipped
  copy.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

STSB_DIR = Path(__file__).parent / "data" / "stsbenchmark"
YEARS = {"sts12": 2012, "sts13": 2013, "sts14": 2014, "sts15": 2015, "sts16": 2016}
# The folder each year's SemEval test archive unpacks to (SentEval's get_transfer_data.bash renames them).
ARCHIVE_DIRS = {
    2012: "test-gold",
    2013: "test-gs",
    2014: "sts-en-test-gs-2014",
    2015: "test_evaluation_task2a",
    2016: "sts2016-english-with-gs-v1.0",
}
# Files shipped beside the data that are not data: matched by name and never parsed.
NOT_DATA = re.compile(
    r"^(\d+[-_.])?(readme|licen[cs]e|copying|notice|attribution|citation|changelog|correlation)"
    r"|\.(pl|py|sh|md|pdf|docx?|zip|rar|gz|tar|html?|csv)$",
    re.IGNORECASE,
)
# SemEval's paired files: STS.input.<subset>.txt / STS.gs.<subset>.txt, STS 2016 as STS2016.input.<subset>.txt.
PAIRED = re.compile(r"^STS(?:\d{2}|\d{4})?\.(input|gs)\.(.+)\.txt$", re.IGNORECASE)
YEAR_PREFIX = re.compile(r"^(?:sts[-_]?)?(?:20)?1[2-6][._-]", re.IGNORECASE)
OTHER_SPLIT = re.compile(r"(^|[._-])(train|dev|trial)$", re.IGNORECASE)
# SentEval's subsets per year (STS13's SMT subset is licensed and absent from SentEval).
SUBSETS = {
    "sts12": ["MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews"],
    "sts13": ["FNWN", "headlines", "OnWN"],
    "sts14": ["deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news"],
    "sts15": ["answers-forums", "answers-students", "belief", "headlines", "images"],
    "sts16": ["answer-answer", "headlines", "plagiarism", "postediting", "question-question"],
}


@dataclass(frozen=True)
class Pair:
    s1: str
    s2: str
    score: float


def spread(pairs: list[Pair], n: int | None) -> list[Pair]:
    """n pairs taken at an even stride over the whole list, in file order (all of them when n is None or larger).

    The files are grouped by genre (STS-B dev: 625 captions first, then forums and news), so the first n pairs
    would be one genre; a stride keeps every genre in its share and is the same subset on every run.
    """
    if n is None or n >= len(pairs):
        return list(pairs)
    return [pairs[i * len(pairs) // n] for i in range(n)]


class MissingEvalSet(FileNotFoundError):
    pass


class EvalDataError(ValueError):
    """A present file that cannot be read: names the file and line."""


def _float(text: str, path: Path, line: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise EvalDataError(f"{path}:{line}: score {text!r} is not a number") from None


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def read_normalized_tsv(path: Path) -> list[Pair]:
    """`score<TAB>sentence1<TAB>sentence2` with a header line and no quoting."""
    if not path.exists():
        raise MissingEvalSet(str(path))
    pairs = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader, None)
        for i, row in enumerate(reader, start=2):
            if len(row) >= 3 and row[0].strip():
                pairs.append(Pair(row[1], row[2], _float(row[0], path, i)))
    return pairs


def read_stsb_original(path: Path) -> list[Pair]:
    """Original STS-B csv: tab-separated, no header, score field 5, sentences 6-7 (some rows have 2 more fields)."""
    if not path.exists():
        raise MissingEvalSet(str(path))
    pairs = []
    for i, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        f = line.split("\t")
        if len(f) < 7:
            raise EvalDataError(f"{path}:{i}: expected at least 7 tab-separated fields, got {len(f)}")
        pairs.append(Pair(f[5].strip(), f[6].strip(), _float(f[4], path, i)))
    return pairs


def read_senteval_subset(input_path: Path, gs_path: Path) -> list[Pair]:
    """`STS.input.<subset>.txt` (s1<TAB>s2[<TAB>notes...]) + `STS.gs.<subset>.txt` (blank = unscored, skipped)."""
    inputs = [ln for ln in _lines(input_path)]
    golds = _lines(gs_path)
    while inputs and not inputs[-1].strip():
        inputs.pop()
    if len(golds) < len(inputs):
        raise EvalDataError(f"{gs_path}: {len(golds)} score lines for {len(inputs)} pairs in {input_path}")
    pairs = []
    for i, (line, gold) in enumerate(zip(inputs, golds), start=1):
        if not gold.strip():
            continue
        f = line.split("\t")
        if len(f) < 2:
            raise EvalDataError(f"{input_path}:{i}: expected sentence1<TAB>sentence2")
        pairs.append(Pair(f[0].strip(), f[1].strip(), _float(gold.strip(), gs_path, i)))
    return pairs


def read_scored_lines(path: Path) -> list[Pair]:
    """brmson-style `score<TAB>sentence1<TAB>sentence2`; empty score = unscored; a non-numeric first line = header."""
    pairs = []
    for i, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        f = line.split("\t")
        if len(f) < 3:
            raise EvalDataError(f"{path}:{i}: expected score<TAB>sentence1<TAB>sentence2")
        if not f[0].strip():
            continue
        if i == 1:
            try:
                float(f[0])
            except ValueError:
                continue  # header
        pairs.append(Pair(f[1].strip(), f[2].strip(), _float(f[0], path, i)))
    return pairs


def _child(directory: Path, names: list[str]) -> Path | None:
    if not directory.is_dir():
        return None
    by_lower = {p.name.lower(): p for p in directory.iterdir()}
    for n in names:
        if n.lower() in by_lower:
            return by_lower[n.lower()]
    return None


def year_dir(data_dir: Path, name: str) -> Path | None:
    """The folder of one STS year under data_dir or data_dir/STS (SentEval's downstream layout)."""
    y = YEARS[name]
    names = [f"STS{y % 100}-en-test", f"STS{y % 100}", name, str(y), f"sts-{y}", f"STS{y}", ARCHIVE_DIRS[y]]
    for root in (Path(data_dir), Path(data_dir) / "STS"):
        found = _child(root, names)
        if found is not None and found.is_dir():
            return found
    return None


def scored_file_subset(path: Path) -> str | None:
    """Subset name of a `score<TAB>s1<TAB>s2` file: `STS12.MSRpar.tsv` -> MSRpar, `images.test.tsv` -> images;
    None for another split's file (`MSRpar.train.tsv`), which must not be pooled into the test score."""
    stem = path.name.rsplit(".", 1)[0]
    stem = YEAR_PREFIX.sub("", stem, count=1)
    if stem.lower().endswith(".test"):
        stem = stem[: -len(".test")]
    return None if OTHER_SPLIT.search(stem) else stem


def _paired_subsets(d: Path, data: list[Path]) -> dict[str, list[Pair]]:
    inputs: dict[str, Path] = {}
    golds: dict[str, Path] = {}
    for p in data:
        m = PAIRED.match(p.name)
        if m:
            (inputs if m[1].lower() == "input" else golds)[m[2]] = p
    out: dict[str, list[Pair]] = {}
    for subset, inp in sorted(inputs.items()):
        if subset not in golds:
            log.warning("%s has no gold file beside it; subset %s skipped", inp, subset)
            continue
        out[subset] = read_senteval_subset(inp, golds[subset])
    for subset in sorted(set(golds) - set(inputs)):
        log.info("%s has no input file (e.g. SemEval's STS.gs.ALL.txt); not a subset", golds[subset].name)
    return out


def _scored_subsets(d: Path, data: list[Path]) -> dict[str, list[Pair]]:
    out: dict[str, list[Pair]] = {}
    source: dict[str, Path] = {}
    for f in data:
        if f.suffix.lower() not in (".tsv", ".txt"):
            continue
        subset = scored_file_subset(f)
        if subset is None:
            log.info("%s is not a test file; skipped", f)
            continue
        if subset.lower() in source:
            raise EvalDataError(
                f"{f} and {source[subset.lower()]} are both subset {subset!r} of {d.name}; keep one of them"
            )
        source[subset.lower()] = f
        out[subset] = read_scored_lines(f)
    return out


def load_sts_year(name: str, data_dir: Path | None) -> dict[str, list[Pair]]:
    """{subset: pairs} for one STS year; MissingEvalSet when the year has no folder, EvalDataError when its
    folder holds no readable data (the message lists what was found)."""
    d = year_dir(Path(data_dir), name) if data_dir else None
    if d is None:
        raise MissingEvalSet(f"{name}: no STS{YEARS[name] % 100}-en-test/ (or {name}/) folder in {data_dir}")
    files = sorted(p for p in d.iterdir() if p.is_file())
    data = [p for p in files if not NOT_DATA.search(p.name)]
    out = _paired_subsets(d, data)
    if not out and not any(PAIRED.match(p.name) for p in data):
        out = _scored_subsets(d, data)
    if not out:
        raise EvalDataError(
            f"{name}: {d} has no STS.input.<subset>.txt + STS.gs.<subset>.txt pair and no "
            f"score<TAB>s1<TAB>s2 file (found: {[p.name for p in files] or 'nothing'})"
        )
    absent = [s for s in SUBSETS[name] if s.lower() not in {k.lower() for k in out}]
    if absent:
        log.warning("%s: subsets %s not found in %s; the pooled score covers %s", name, absent, d, sorted(out))
    return out


def load_sickr(data_dir: Path | None) -> list[Pair]:
    """SICK-R test pairs (relatedness 1-5)."""
    roots = (
        [Path(data_dir), *(p for p in [_child(Path(data_dir), ["SICK", "sick", "SICK-R"])] if p)] if data_dir else []
    )
    for root in roots:
        f = _child(root, ["SICK_test_annotated.txt", "SICK.txt"])
        if f is not None:
            return read_sick(f)
    raise MissingEvalSet(f"sickr: no SICK_test_annotated.txt or SICK.txt in {data_dir}")


def read_sick(path: Path) -> list[Pair]:
    lines = [ln for ln in _lines(path) if ln.strip()]
    if not lines:
        raise EvalDataError(f"{path}: empty")
    header = lines[0].split("\t")
    try:
        ia, ib, ir = (header.index(c) for c in ("sentence_A", "sentence_B", "relatedness_score"))
    except ValueError:
        raise EvalDataError(f"{path}:1: header must name sentence_A, sentence_B, relatedness_score") from None
    iset = header.index("SemEval_set") if "SemEval_set" in header else None
    pairs = []
    for i, line in enumerate(lines[1:], start=2):
        f = line.split("\t")
        if len(f) < len(header):
            raise EvalDataError(f"{path}:{i}: {len(f)} fields, header has {len(header)}")
        if iset is not None and f[iset].strip().upper() != "TEST":
            continue
        pairs.append(Pair(f[ia].strip(), f[ib].strip(), _float(f[ir], path, i)))
    return pairs


def load_stsb(split: str, directory: Path | None = None) -> list[Pair]:
    """STS-B dev or test (gold 0-5) from the shipped copy or a user's directory (normalized .tsv or original .csv)."""
    if split not in ("dev", "test", "train"):
        raise ValueError(f"STS-B split must be dev, test or train, not {split!r}")
    d = directory or STSB_DIR
    if (d / f"sts-{split}.tsv").exists() or not (d / f"sts-{split}.csv").exists():
        return read_normalized_tsv(d / f"sts-{split}.tsv")
    return read_stsb_original(d / f"sts-{split}.csv")
