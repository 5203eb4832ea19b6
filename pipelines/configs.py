"""Trainer-ready dataset configs derived from the kept rows, so `load_dataset(<dataset dir>, "triplet")` feeds
`SentenceTransformerTrainer` with no column juggling (the column order is the loss's contract).

| config | columns | rows taken from |
|---|---|---|
| `triplet` | anchor, positive, negative | rows with all three texts |
| `pair` | anchor, positive | rows with a positive |
| `pair-score` | sentence1, sentence2, score in [0, 1] | judge scores (a) |
| `pair-class` | premise, hypothesis, label | positive, hard negative, CLAIF random pair (b) |
| `ranked` | anchor, ranked | ranked lists (most to least similar) |

(a) of the positive, the negative and CLAIF random pairs, min-max scaled from the judge's scale.
(b) positive -> entailment, hard negative -> contradiction, CLAIF random pair -> neutral.

`all` (data/) and `rejects` (rejects/) are the full schema with provenance. The kept rows are read as Arrow
record batches, so memory follows the batch, not the dataset; each config is one Parquet file, written beside
and renamed into place (always the same name, so a rewrite replaces it and leaves nothing stale).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

NLI_LABELS = ("entailment", "neutral", "contradiction")  # SNLI / MNLI order, as cross-encoder NLI heads expect
BATCH_ROWS = 4096
SOURCE_COLUMNS = [
    "anchor",
    "positive",
    "negative",
    "text_b",
    "pair_score",
    "positive_score",
    "negative_score",
    "ranked",
]


@dataclass(frozen=True)
class ConfigSpec:
    """One derived config: its name, Arrow schema, and how a kept row becomes zero or more of its rows."""

    name: str
    schema: pa.Schema
    rows: Callable[[dict[str, Any], tuple[float, float]], Iterator[dict[str, Any]]]
    description: str


def _text(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def _triplet(r: dict, _: tuple[float, float]) -> Iterator[dict]:
    if _text(r["anchor"]) and _text(r["positive"]) and _text(r["negative"]):
        yield {"anchor": r["anchor"], "positive": r["positive"], "negative": r["negative"]}


def _pair(r: dict, _: tuple[float, float]) -> Iterator[dict]:
    if _text(r["anchor"]) and _text(r["positive"]):
        yield {"anchor": r["anchor"], "positive": r["positive"]}


def scale_score(value: float, scale: tuple[float, float]) -> float:
    """A judge score on [lo, hi] -> [0, 1] (clipped: an expected value never leaves the scale, a parse might)."""
    lo, hi = scale
    return min(1.0, max(0.0, (float(value) - lo) / (hi - lo)))


def _pair_score(r: dict, scale: tuple[float, float]) -> Iterator[dict]:
    for text, score in (
        (r["positive"], r["positive_score"]),
        (r["negative"], r["negative_score"]),
        (r["text_b"], r["pair_score"]),
    ):
        if _text(r["anchor"]) and _text(text) and score is not None and score == score:  # NaN != NaN
            yield {"sentence1": r["anchor"], "sentence2": text, "score": scale_score(score, scale)}


def _pair_class(r: dict, _: tuple[float, float]) -> Iterator[dict]:
    if not _text(r["anchor"]):
        return
    for text, label in ((r["positive"], 0), (r["text_b"], 1), (r["negative"], 2)):
        if _text(text):
            yield {"premise": r["anchor"], "hypothesis": text, "label": label}


def _ranked(r: dict, _: tuple[float, float]) -> Iterator[dict]:
    items = [t for t in r["ranked"] or [] if _text(t)]
    if _text(r["anchor"]) and len(items) >= 2:
        yield {"anchor": r["anchor"], "ranked": items}


def _hf_schema(fields: list[tuple[str, pa.DataType]], features: dict[str, Any] | None = None) -> pa.Schema:
    """An Arrow schema; with `features`, the `datasets` Features (e.g. a ClassLabel) ride in its metadata."""
    if features is None:
        return pa.schema(fields)
    from datasets import ClassLabel, Features, Value

    feats = Features(
        {
            name: ClassLabel(names=list(NLI_LABELS)) if features.get(name) == "nli" else Value("string")
            for name, _ in fields
        }
    )
    return feats.arrow_schema


CONFIGS: dict[str, ConfigSpec] = {
    c.name: c
    for c in (
        ConfigSpec(
            "triplet",
            _hf_schema([("anchor", pa.string()), ("positive", pa.string()), ("negative", pa.string())]),
            _triplet,
            "(anchor, positive, negative): MultipleNegativesRankingLoss with hard negatives",
        ),
        ConfigSpec(
            "pair",
            _hf_schema([("anchor", pa.string()), ("positive", pa.string())]),
            _pair,
            "(anchor, positive): MultipleNegativesRankingLoss with in-batch negatives",
        ),
        ConfigSpec(
            "pair-score",
            _hf_schema([("sentence1", pa.string()), ("sentence2", pa.string()), ("score", pa.float64())]),
            _pair_score,
            "(sentence1, sentence2, score in [0, 1]): CoSENT / AnglE / CosineSimilarity losses",
        ),
        ConfigSpec(
            "pair-class",
            _hf_schema(
                [("premise", pa.string()), ("hypothesis", pa.string()), ("label", pa.int64())], {"label": "nli"}
            ),
            _pair_class,
            "(premise, hypothesis, label: entailment / neutral / contradiction): cross-encoder NLI",
        ),
        ConfigSpec(
            "ranked",
            _hf_schema([("anchor", pa.string()), ("ranked", pa.list_(pa.string()))]),
            _ranked,
            "(anchor, ranked list most to least similar): listwise losses",
        ),
    )
}


def config_path(dataset_dir: Path, name: str) -> Path:
    return Path(dataset_dir) / name / "train-00000-of-00001.parquet"


def iter_kept_rows(dataset_dir: Path, batch_rows: int = BATCH_ROWS) -> Iterator[list[dict[str, Any]]]:
    """The kept rows of data/*.parquet as lists of dicts, one Arrow record batch at a time."""
    for f in sorted(p for p in (Path(dataset_dir) / "data").glob("*.parquet") if not p.name.startswith(".")):
        pf = pq.ParquetFile(f)  # not `.tmp-*`: a writer's unfinished file (pathlib's glob matches dot-files)
        cols = [c for c in SOURCE_COLUMNS if c in pf.schema_arrow.names]
        for batch in pf.iter_batches(batch_size=batch_rows, columns=cols):
            rows = batch.to_pylist()
            yield [{c: r.get(c) for c in SOURCE_COLUMNS} for r in rows]


def write_configs(
    dataset_dir: Path, score_scale: tuple[float, float] = (0.0, 5.0), batch_rows: int = BATCH_ROWS
) -> dict[str, tuple[Path, int]]:
    """Write every config that has rows from the dataset's kept rows; returns {config: (file written, rows)}."""
    dataset_dir = Path(dataset_dir)
    if score_scale[1] <= score_scale[0]:
        raise ValueError(f"score scale {score_scale}: the maximum must be above the minimum")
    tmp = {n: config_path(dataset_dir, n).with_name(f".tmp-{os.getpid()}-train.parquet") for n in CONFIGS}
    counts = dict.fromkeys(CONFIGS, 0)
    writers: dict[str, pq.ParquetWriter] = {}
    try:
        for n, path in tmp.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            writers[n] = pq.ParquetWriter(path, CONFIGS[n].schema)
        for rows in iter_kept_rows(dataset_dir, batch_rows):
            for n, spec in CONFIGS.items():
                out = [x for r in rows for x in spec.rows(r, score_scale)]
                if out:
                    writers[n].write_table(pa.Table.from_pylist(out, schema=spec.schema))
                    counts[n] += len(out)
        for w in writers.values():
            w.close()
    except BaseException:
        for w in writers.values():
            w.close()
        for path in tmp.values():
            path.unlink(missing_ok=True)
        raise
    written = {}
    for n, path in tmp.items():
        final = config_path(dataset_dir, n)
        if counts[n]:
            os.replace(path, final)
            written[n] = (final, counts[n])
        else:  # `datasets` cannot load a Parquet file without rows: an empty config is left out of the card
            path.unlink()
            final.unlink(missing_ok=True)  # this module's own file from an earlier write, never a user's
            if final.parent.exists() and not any(final.parent.iterdir()):
                final.parent.rmdir()
    return written
