"""Curate in bounded memory: generated shards are read as Arrow record batches, filtered batch by batch,
and the dataset is written as it goes (size-bounded Parquet files, card statistics summed per batch).

Inputs are explicit, ordered shard paths (the run plan's), never a globbed directory: `generated` shards in
curate order (their order decides which duplicate is "first"), and `annotations`, shards of annotating tasks
(the judge) whose rows have the ids of the rows they score and replace them: a join by id, later wins, as
`load_rows` merges. Memory holds one batch, the ids that occur more than once, and the filters' compact state
(dedup: hashes and band keys in numpy arrays), so it does not grow with the rows' text.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines import dataset
from pipelines.curate import StageStats, filter_batch, new_stats, reason_class, reset_verdicts
from pipelines.dataset import ROWS_PER_FILE, finish_dataset
from pipelines.filters import Filter
from pipelines.prefetch import Prefetcher, leading_per_row, one_ahead
from pipelines.schema import SCHEMA, SCHEMA_VERSION, row_to_record

BATCH_ROWS = 4096


class Observer(Protocol):
    """Sees every filtered batch (rows with their final verdicts) once: report and card figures."""

    def add(self, rows: Sequence[dict[str, Any]]) -> None: ...


class SplitWriter:
    """Rows appended batch by batch into `<prefix>-NNNNN-of-MMMMM.parquet` files of at most `rows_per_file`
    rows; files are written under temporary names and renamed when the split is complete."""

    def __init__(self, directory: Path, prefix: str, rows_per_file: int = ROWS_PER_FILE):
        self.directory, self.prefix, self.rows_per_file = Path(directory), prefix, rows_per_file
        self.directory.mkdir(parents=True, exist_ok=True)
        self._tmp: list[str] = []
        self._writer: pq.ParquetWriter | None = None
        self._in_file = 0

    def write(self, table: pa.Table) -> None:
        while table.num_rows:
            if self._writer is None or self._in_file >= self.rows_per_file:
                self._roll()
            take = min(table.num_rows, self.rows_per_file - self._in_file)
            self._writer.write_table(table.slice(0, take))  # type: ignore[union-attr]
            self._in_file += take
            table = table.slice(take)

    def _roll(self) -> None:
        if self._writer is not None:
            self._writer.close()
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".parquet")
        os.close(fd)
        self._tmp.append(tmp)
        self._writer = pq.ParquetWriter(tmp, SCHEMA, compression="zstd")
        self._in_file = 0

    def close(self) -> list[Path]:
        if self._writer is None:
            self._roll()  # an empty split is still one (empty) file, as write_split writes
        self._writer.close()  # type: ignore[union-attr]
        n = len(self._tmp)
        paths = [self.directory / f"{self.prefix}-{i:05d}-of-{n:05d}.parquet" for i in range(n)]
        for tmp, path in zip(self._tmp, paths):
            os.replace(tmp, path)
        return paths  # written into a fresh staging dir: an older dataset's files go by its manifest (pipelines.swap)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
        for tmp in self._tmp:
            if os.path.exists(tmp):
                os.unlink(tmp)


class MergedShards:
    """The rows of shards in order, merged by id exactly as `load_rows` merges them (an id's row sits where the
    id first occurs and carries its last occurrence's content: a judge's row replaces the row it scores), read
    batch by batch. Only ids that occur more than once are held, with where their last occurrence is."""

    def __init__(self, paths: Sequence[Path]):
        self.paths = [Path(p) for p in paths]
        # one pass over the id columns keeps an 8-byte hash per row; only ids whose hash repeats are looked at
        hashes = [np.fromiter((hash(i) for i in self._ids(fi)), dtype=np.int64) for fi in range(len(self.paths))]
        every = np.sort(np.concatenate(hashes)) if hashes else np.empty(0, dtype=np.int64)
        repeated = np.unique(every[1:][every[1:] == every[:-1]])
        del every
        seen: dict[str, list[tuple[int, int]]] = {}
        for fi, h in enumerate(hashes):
            hit = np.flatnonzero(np.isin(h, repeated)) if repeated.size else ()
            if len(hit):
                ids = self._ids(fi)
                for ri in hit.tolist():
                    seen.setdefault(ids[ri], []).append((fi, ri))
        self.last = {rid: where[-1] for rid, where in seen.items() if len(where) > 1}  # the last one wins
        self._cached: tuple[int, pa.Table] | None = None

    def _ids(self, fi: int) -> list[str]:
        return pq.read_table(self.paths[fi], columns=["id"]).column("id").to_pylist()

    def _row(self, fi: int, ri: int) -> dict[str, Any]:
        if self._cached is None or self._cached[0] != fi:
            self._cached = (fi, pq.read_table(self.paths[fi]))
        return self._cached[1].slice(ri, 1).to_pylist()[0]

    def batches(self, batch_rows: int | None = None) -> Iterator[list[dict[str, Any]]]:
        """Merged rows, `batch_rows` (default: BATCH_ROWS, read at call time) per file batch."""
        batch_rows = batch_rows or BATCH_ROWS
        done: set[str] = set()
        for fi, path in enumerate(self.paths):
            first = 0
            for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
                rows = batch.to_pylist()
                if self.last:
                    merged = []
                    for i, r in enumerate(rows):
                        where = self.last.get(r["id"])
                        if where is not None:
                            if r["id"] in done:
                                continue
                            done.add(r["id"])
                            r = r if where == (fi, first + i) else self._row(*where)
                        merged.append(r)
                    rows = merged
                first += batch.num_rows
                if rows:
                    yield rows


@dataclass
class Tally:
    """Card statistics summed per batch (what write_dataset computes from the whole list)."""

    rows: int = 0
    kept: int = 0
    by_task: dict[str, dict[str, int]] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    provenance: dict[str, Any] | None = None

    def add(self, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            if self.provenance is None:
                self.provenance = r["provenance"] or {}
            t = self.by_task.setdefault(r["task"], {"generated": 0, "kept": 0})
            t["generated"] += 1
            t["kept"] += int(r["kept"])
            if not r["kept"]:
                c = reason_class(r["reason"])
                self.reasons[c] = self.reasons.get(c, 0) + 1
        self.rows += len(rows)
        self.kept += sum(r["kept"] for r in rows)


def curate_stream(
    generated: Sequence[Path],
    filters: Sequence[Filter],
    out_dir: Path,
    *,
    annotations: Sequence[Path] = (),
    batch_rows: int | None = None,
    **kw: Any,
) -> tuple[dict[str, Any], list[StageStats]]:
    """`curate_batches` over the rows of `generated` then `annotations`, merged by id as `load_rows` merges
    them, read `batch_rows` at a time."""
    return curate_batches(MergedShards([*generated, *annotations]).batches(batch_rows), filters, out_dir, **kw)


def curate_batches(
    batches: Iterable[list[dict[str, Any]]],
    filters: Sequence[Filter],
    out_dir: Path,
    *,
    recipe_text: str = "",
    recipe_name: str = "",
    rows_per_file: int | None = None,
    extra_sections: Sequence[str] = (),
    observers: Sequence[Observer] = (),
    before_card: Callable[[list[StageStats]], Sequence[str]] | None = None,
) -> tuple[dict[str, Any], list[StageStats]]:
    """Filter rows batch by batch and write `data/`, `rejects/`, `stats.json` and the card into `out_dir`, a
    fresh (staging) directory: swap it in with `pipelines.swap` as the curate flow does.

    Each filtered batch goes to every observer's `add` (report histograms, card figures); `before_card(stats)`,
    called when every batch is written, returns the card's sections before `extra_sections` (e.g. the report's,
    once its plots exist): the card is written once, from all of them."""
    for flt in filters:
        if hasattr(flt, "start"):
            flt.start()  # type: ignore[attr-defined]
    stats = new_stats(filters)
    rows_per_file = rows_per_file or dataset.ROWS_PER_FILE  # read at call time: one setting for both writers
    kept_w = SplitWriter(Path(out_dir) / "data", "train", rows_per_file)
    rej_w = SplitWriter(Path(out_dir) / "rejects", "rejects", rows_per_file)
    tally = Tally()

    def run(rows: list[dict[str, Any]], records: dict[int, Any], given: Sequence[Sequence[str | None]]) -> None:
        filter_batch(rows, filters, stats, records=records, given=given)
        table = pa.Table.from_pylist(rows, schema=SCHEMA)
        mask = pa.array([r["kept"] for r in rows], type=pa.bool_())
        kept_w.write(table.filter(mask))
        rej_w.write(table.filter(pc.invert(mask)))
        tally.add(rows)
        for obs in observers:
            obs.add(rows)

    prefetch = Prefetcher(leading_per_row(filters))

    def prepared() -> Iterator[tuple[list[dict[str, Any]], dict[int, Any], Any]]:
        for n, rows in enumerate(batches):
            reset_verdicts(rows)
            checked = [r for r in rows if r["kept"]] if filters else []
            records = {id(r): row_to_record(r) for r in checked}
            yield rows, records, prefetch.submit(n, [records[id(r)] for r in checked])

    try:
        for rows, records, ahead in one_ahead(prepared()):  # the next batch's per-row verdicts run meanwhile
            run(rows, records, ahead.result() if ahead is not None else ())
    except BaseException:
        kept_w.abort()
        rej_w.abort()
        raise
    finally:
        prefetch.close()
    kept_w.close()
    rej_w.close()
    prov = tally.provenance or {}
    summary = {
        "schema_version": SCHEMA_VERSION,
        "rows": tally.rows,
        "kept": tally.kept,
        "rejected": tally.rows - tally.kept,
        "by_task": tally.by_task,
        "rejects_by_reason": dict(sorted(tally.reasons.items(), key=lambda kv: -kv[1])),
        "filters": [s.__dict__ for s in stats],
        "generator": {
            k: prov.get(k)
            for k in ("backend", "model", "model_hash", "temperature", "top_p", "max_tokens", "recipe_hash")
        },
    }
    more = list(before_card(stats)) if before_card is not None else []
    finish_dataset(
        summary,
        stats,
        Path(out_dir),
        recipe_text=recipe_text,
        recipe_name=recipe_name,
        extra_sections=[*more, *extra_sections],
    )
    return summary, stats
