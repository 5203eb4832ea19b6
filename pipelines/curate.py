"""Curate: merge generated shards, run the filters in order, and attach a verdict to every row.

Rows with the same id (a record and its judge-scored copy) merge, later stages winning. Each filter sees
only the rows still kept, after its annotate step (if it has one) wrote typed columns for them; its
verdict is appended to the row, and the first failing reason becomes the row's `reason`. Verdicts make
re-filtering with new thresholds cheap: no regeneration.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pyarrow.parquet as pq

from pipelines.filters import Filter
from pipelines.filters.base import Annotator, Columns
from pipelines.filters.reselect import add_emitted_rows
from pipelines.schema import ANNOTATION_COLUMNS, record_to_row, row_to_record
from pipelines.shards import shard_problem
from synth.records import Record

log = logging.getLogger(__name__)

_RECORD_FIELDS = (
    "positive",
    "negative",
    "negative_kind",
    "text_b",
    "pair_score",
    "positive_score",
    "negative_score",
    "ranked",
    "ranked_mode",
)


@dataclass
class StageStats:
    stage: str
    rows_in: int
    rows_out: int
    seconds: float
    reasons: dict[str, int] = field(default_factory=dict)


def load_rows(shards: Sequence[Path]) -> list[dict[str, Any]]:
    """All rows of exactly these shards (the run plan's list, in its order), merged by id: an annotator's rows
    (same ids, scores filled) come later and win. A listed shard that is missing or unreadable is an error
    naming it; nothing else on disk is ever read."""
    check_shards(shards)
    merged: dict[str, dict[str, Any]] = {}
    for shard in shards:
        for row in pq.read_table(shard).to_pylist():
            merged[row["id"]] = row
    return list(merged.values())


def check_shards(shards: Sequence[Path]) -> None:
    """Every planned shard is there and readable, or an error naming the first that is not."""
    for shard in shards:
        problem = "not generated yet" if not Path(shard).exists() else shard_problem(Path(shard), ("id",))
        if problem:
            raise FileNotFoundError(f"{shard}: planned shard {problem}; run `synth generate` with this recipe")


def reset_verdicts(rows: list[dict[str, Any]]) -> None:
    """Keep only the parse verdicts: the starting point for (re-)filtering."""
    for row in rows:
        row["verdicts"] = [v for v in row.get("verdicts") or [] if v["stage"] == "parse"]
        parse_fail = next((v for v in row["verdicts"] if not v["kept"]), None)
        row["kept"] = parse_fail is None
        row["reason"] = parse_fail["reason"] if parse_fail else None


def apply_filters(rows: list[dict[str, Any]], filters: Sequence[Filter]) -> list[StageStats]:
    """Run filters in order over the kept rows, recording verdicts in place; returns per-stage stats."""
    reset_verdicts(rows)
    stats = new_stats(filters)
    filter_batch(rows, filters, stats, whole=True)
    for s in stats[1:]:
        log.info(
            "filter %s: %d in, %d kept (%.0f rows/s)", s.stage, s.rows_in, s.rows_out, s.rows_in / max(s.seconds, 1e-9)
        )
    return stats


def new_stats(filters: Sequence[Filter]) -> list[StageStats]:
    """Empty per-stage stats (parse first), to be summed over batches by `filter_batch`."""
    return [StageStats("parse", 0, 0, 0.0)] + [StageStats(f.name, 0, 0, 0.0) for f in filters]


def filter_batch(
    rows: list[dict[str, Any]],
    filters: Sequence[Filter],
    stats: list[StageStats],
    *,
    whole: bool = False,
    records: dict[int, Record] | None = None,
    given: Sequence[Sequence[str | None]] = (),
) -> None:
    """Filter one batch of rows (verdicts already reset) in place and add its counts to `stats`.

    `whole`: the rows are the whole dataset (`verdicts`); otherwise stateful filters (dedup) carry what
    they saw in earlier batches (`batch_verdicts`), so a stream of batches gets the decisions of one pass.
    `records`: the rows' records by `id(row)`, when the caller converted them already; `given`: verdicts of the
    first filters computed elsewhere (pipelines.prefetch) over every row that passed parsing, in row order.
    """
    _add(stats[0], len(rows), sum(r["kept"] for r in rows), 0.0, (r["reason"] for r in rows if not r["kept"]))
    checked = [r for r in rows if r["kept"]] if filters else []
    t0 = time.perf_counter()
    if records is None:
        records = {id(r): row_to_record(r) for r in checked}  # once per batch; annotate steps may re-form these
    convert = time.perf_counter() - t0
    position = {id(r): i for i, r in enumerate(checked)} if given else {}
    for i, (flt, st) in enumerate(zip(filters, stats[1:])):
        live = [r for r in checked if r["kept"]]
        t0 = time.perf_counter()
        recs = [records[id(r)] for r in live]
        verdicts = flt.verdicts if whole else getattr(flt, "batch_verdicts", flt.verdicts)
        annotator = getattr(flt, "annotator", None)
        if i < len(given):  # a per-row filter's verdicts, computed on another core: those of the live rows
            reasons = [given[i][position[id(r)]] for r in live]
        elif annotator is None:
            reasons = verdicts(recs)
        else:  # the filter's annotate step: typed columns (and re-formed records) first, then verdicts
            recs, columns = annotate(annotator, live, recs, records)
            reasons = verdicts(recs, columns)
        if len(reasons) != len(live):
            raise RuntimeError(f"filter {flt.name} returned {len(reasons)} verdicts for {len(live)} rows")
        for row, why in zip(live, reasons):
            row["verdicts"] = row["verdicts"] + [
                {"stage": flt.name, "kept": why is None, "reason": f"{flt.name}:{why}" if why else None}
            ]
            if why is not None:
                row["kept"] = False
                row["reason"] = f"{flt.name}:{why}"
        add_emitted_rows(annotator, flt.name, rows, checked, records, record_to_row)  # GCSE's re-emitted pairs
        _add(
            st,
            len(live),
            sum(r["kept"] for r in live),
            time.perf_counter() - t0 + convert,
            (reason_class(w) for w in reasons if w),
        )
        convert = 0.0
    t0 = time.perf_counter()
    for row in checked:  # an annotate step may have re-formed a record (a reoriented pair): the row gets it
        rec = records[id(row)]
        for f in _RECORD_FIELDS:
            row[f] = getattr(rec, f)
        row["checks"] = [{"name": k, "value": float(v)} for k, v in rec.checks.items()]
        row["scores"] = [s.__dict__ for s in rec.scores]
    if filters:
        stats[-1].seconds += time.perf_counter() - t0


def annotate(
    annotator: Annotator, live: list[dict[str, Any]], recs: list[Record], records: dict[int, Record]
) -> tuple[list[Record], Columns]:
    """Run an annotate step on the live rows: their annotation columns (as stored, e.g. cosines from an earlier
    run) are handed in, written back typed, and the records it returns replace the rows' records."""
    columns = {c: [row.get(c) for row in live] for c in ANNOTATION_COLUMNS}
    out = annotator.annotate(recs, columns)
    for i, (row, rec) in enumerate(zip(live, out)):
        records[id(row)] = rec
        for c in ANNOTATION_COLUMNS:
            row[c] = columns[c][i]
    return out, columns


def _add(st: StageStats, rows_in: int, rows_out: int, seconds: float, reasons) -> None:
    st.rows_in += rows_in
    st.rows_out += rows_out
    st.seconds += seconds
    for k, v in _count(reasons).items():
        st.reasons[k] = st.reasons.get(k, 0) + v
    st.reasons = dict(sorted(st.reasons.items(), key=lambda kv: -kv[1]))


def reason_class(reason: str) -> str:
    """A reason without its detail: `exact_duplicate:anchor@<kept id>` counts as `exact_duplicate:anchor`."""
    return reason.split("@", 1)[0]


def _count(items) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
