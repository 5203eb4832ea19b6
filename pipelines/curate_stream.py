"""Curate in bounded memory: generated shards are read as Arrow record batches, filtered batch by batch,
and the dataset is written as it goes (size-bounded Parquet files, card statistics summed per batch).

Inputs are explicit, ordered shard paths (the run plan's), never a globbed directory: `generated` shards in
curate order (their order decides which duplicate is "first"), and `annotations`, shards of annotating tasks
(the judge) whose rows have the ids of the rows they score and replace them: a join by id, later wins, as
`load_rows` merges. Memory holds one batch, the annotations' id index, and the filters' compact state
(dedup: hashes and band keys), so it does not grow with the rows' text.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.curate import StageStats, filter_batch, new_stats, reason_class, reset_verdicts
from pipelines.dataset import ROWS_PER_FILE, finish_dataset
from pipelines.filters import Filter
from pipelines.schema import SCHEMA, SCHEMA_VERSION

BATCH_ROWS = 4096


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


class AnnotationJoin:
    """Rows of annotating shards by id: only the ids and their (file, row) are held; a batch's hits are read
    from their shard when needed (one shard cached, as judge shard i annotates generated shard i)."""

    def __init__(self, paths: Sequence[Path]):
        self.paths = [Path(p) for p in paths]
        self.where: dict[str, tuple[int, int]] = {}
        for fi, p in enumerate(self.paths):
            ids = pq.read_table(p, columns=["id"]).column("id").to_pylist()
            for ri, rid in enumerate(ids):
                self.where[rid] = (fi, ri)  # a later annotation of the same id wins
        self._cached: tuple[int, list[dict[str, Any]]] | None = None

    def _row(self, fi: int, ri: int) -> dict[str, Any]:
        if self._cached is None or self._cached[0] != fi:
            self._cached = (fi, pq.read_table(self.paths[fi]).to_pylist())
        return self._cached[1][ri]

    def apply(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self._row(*self.where.pop(r["id"])) if r["id"] in self.where else r for r in rows]

    def leftovers(self) -> Iterator[list[dict[str, Any]]]:
        """Annotated rows whose id no generated shard had, in annotation order (as `load_rows` appends them)."""
        by_file: dict[int, list[int]] = {}
        for fi, ri in sorted(self.where.values()):
            by_file.setdefault(fi, []).append(ri)
        self.where.clear()
        for fi, ris in by_file.items():
            yield [self._row(fi, ri) for ri in ris]


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


def iter_batches(paths: Sequence[Path], batch_rows: int = BATCH_ROWS) -> Iterator[list[dict[str, Any]]]:
    for p in paths:
        for batch in pq.ParquetFile(p).iter_batches(batch_size=batch_rows):
            yield batch.to_pylist()


def curate_stream(generated: Sequence[Path], filters: Sequence[Filter], out_dir: Path, *,
                  annotations: Sequence[Path] = (), recipe_text: str = "", recipe_name: str = "",
                  batch_rows: int = BATCH_ROWS, rows_per_file: int = ROWS_PER_FILE,
                  extra_sections: Sequence[str] = ()) -> tuple[dict[str, Any], list[StageStats]]:
    """Filter the shards' rows in batches and write `data/`, `rejects/`, `stats.json` and the card into
    `out_dir`, a fresh (staging) directory: swap it in with `pipelines.swap` as the curate flow does."""
    for flt in filters:
        if hasattr(flt, "start"):
            flt.start()  # type: ignore[attr-defined]
    stats = new_stats(filters)
    join = AnnotationJoin(annotations)
    kept_w = SplitWriter(Path(out_dir) / "data", "train", rows_per_file)
    rej_w = SplitWriter(Path(out_dir) / "rejects", "rejects", rows_per_file)
    tally = Tally()

    def run(rows: list[dict[str, Any]]) -> None:
        reset_verdicts(rows)
        filter_batch(rows, filters, stats)
        table = pa.Table.from_pylist(rows, schema=SCHEMA)
        mask = pa.array([r["kept"] for r in rows], type=pa.bool_())
        kept_w.write(table.filter(mask))
        rej_w.write(table.filter(pc.invert(mask)))
        tally.add(rows)

    try:
        for rows in iter_batches(generated, batch_rows):
            run(join.apply(rows))
        for rows in join.leftovers():
            run(rows)
    except BaseException:
        kept_w.abort()
        rej_w.abort()
        raise
    kept_w.close()
    rej_w.close()
    prov = tally.provenance or {}
    summary = {
        "schema_version": SCHEMA_VERSION, "rows": tally.rows, "kept": tally.kept, "rejected": tally.rows - tally.kept,
        "by_task": tally.by_task, "rejects_by_reason": dict(sorted(tally.reasons.items(), key=lambda kv: -kv[1])),
        "filters": [s.__dict__ for s in stats],
        "generator": {k: prov.get(k) for k in ("backend", "model", "model_hash", "temperature", "top_p",
                                               "max_tokens", "recipe_hash")},
    }
    finish_dataset(summary, stats, Path(out_dir), recipe_text=recipe_text, recipe_name=recipe_name,
                   extra_sections=extra_sections)
    return summary, stats
