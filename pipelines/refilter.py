"""Write a curated dataset with its report, and re-filter an existing dataset without regenerating.

Re-filtering starts from the generated shards when the run still has them (their order decides which
duplicate is "first"), else from the dataset's own `data/` + `rejects/` rows (every generated row is
in one of them). Either way the cosines an earlier `consistency` filter stored are reused when their
key still matches the encoder and the texts, and an earlier swap of positive/negative is undone first,
so new thresholds see the pairs as generated. The new dataset is built beside the old one and swapped in
file by file under a journal (pipelines.swap): a kill rolls forward on the next command, and files in the
dataset directory that the project did not write are never touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines import curate_stream
from pipelines.curate import StageStats
from pipelines.dataset import split_files, write_dataset
from pipelines.filters.thresholds import SIDE_COLUMNS, unswap_row
from pipelines.report import Report, card_section, write_report
from pipelines.schema import upgrade_row
from pipelines.swap import staging_dir, swap_in

T = TypeVar("T")

REUSED_COLUMNS = ("cos_pos", "cos_neg", "cos_pos_key", "cos_neg_key")


def find_dataset_dir(path: Path) -> Path:
    """A dataset dir, or a run dir containing `dataset/`; errors name the path."""
    p = Path(path)
    if (p / "dataset" / "stats.json").exists():
        p = p / "dataset"
    if not (p / "stats.json").exists():
        raise FileNotFoundError(f"{p}: not a contrastive-synth dataset (no stats.json)")
    return p


def stored_rows(dataset_dir: Path) -> list[dict[str, Any]]:
    """Every row of a dataset (kept and rejected), earlier swaps undone, kept rows first within a shard."""
    return [r for batch in stored_batches(dataset_dir) for r in batch]


def stored_batches(dataset_dir: Path, batch_rows: int | None = None) -> Iterator[list[dict[str, Any]]]:
    """`stored_rows` in batches: the dataset's files as one Arrow table, put in order (shard, kept rows first;
    a stable sort) by indices, and turned into Python rows (earlier swaps undone) one batch at a time."""
    files = split_files(dataset_dir, "data") + split_files(dataset_dir, "rejects")
    if not files:
        return
    table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
    shard = pc.fill_null(pc.struct_field(table.column("provenance"), "shard"), "")
    keys = pa.table({"shard": shard, "rejected": pc.invert(pc.fill_null(table.column("kept"), False))})
    order = pc.sort_indices(keys, sort_keys=[("shard", "ascending"), ("rejected", "ascending")])
    step = batch_rows or curate_stream.BATCH_ROWS
    for start in range(0, table.num_rows, step):
        yield [unswap_row(r) for r in table.take(order.slice(start, step)).to_pylist()]


def _cached_cosines(dataset_dir: Path) -> dict[str, dict[str, Any]]:
    """id -> the stored cosine columns (as generated: an earlier swap undone), read from the dataset's `id`,
    annotation and `checks` columns (schema version 1 kept them in `checks`)."""
    out: dict[str, dict[str, Any]] = {}
    for f in split_files(dataset_dir, "data") + split_files(dataset_dir, "rejects"):
        names = set(pq.read_schema(f).names)
        cols = [c for c in ("id", "checks", "swapped", *REUSED_COLUMNS) if c in names]
        for r in pq.read_table(f, columns=cols).to_pylist():
            r = upgrade_row(r)
            if r["swapped"]:
                for a, b in SIDE_COLUMNS:
                    r[a], r[b] = r[b], r[a]
            out[r["id"]] = {c: r[c] for c in REUSED_COLUMNS if r[c] is not None}
    return out


def refilter_batches(
    dataset_dir: Path, shards: Sequence[Path] = (), batch_rows: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """The rows to re-filter, batch by batch: the planned generated shards if all are present (merged by id as
    curate merges them, plus the cosines the dataset stored, joined by id), else the dataset's own rows
    (`stored_batches`)."""
    if not (
        shards and all(Path(p).exists() for p in shards) and sum(pq.ParquetFile(p).metadata.num_rows for p in shards)
    ):
        yield from stored_batches(dataset_dir, batch_rows)
        return
    cached = _cached_cosines(dataset_dir)
    for batch in curate_stream.MergedShards(shards).batches(batch_rows):
        for row in batch:
            upgrade_row(row)
            for c, v in cached.get(row["id"], {}).items():
                if row[c] is None:
                    row[c] = v
        yield batch


def load_for_refilter(dataset_dir: Path, shards: Sequence[Path] = ()) -> list[dict[str, Any]]:
    """`refilter_batches` as one list (the whole-list path of the tests and benches)."""
    return [r for batch in refilter_batches(dataset_dir, shards) for r in batch]


def write_curated(
    rows: Sequence[dict],
    stats: Sequence[StageStats],
    out_dir: Path,
    *,
    filters: Sequence[Any] = (),
    recipe_text: str = "",
    recipe_name: str = "",
    extra_sections: Sequence[str] = (),
) -> tuple[dict[str, Any], Report]:
    """report.md + plots, then the dataset (data/, rejects/, card linking the report, stats.json)."""
    report = write_report(rows, stats, out_dir, title=recipe_name, filters=filters)
    summary = write_dataset(
        rows,
        stats,
        out_dir,
        recipe_text=recipe_text,
        recipe_name=recipe_name,
        extra_sections=[card_section(report), *extra_sections],
    )
    return summary, report


def build_and_swap(dataset_dir: Path, build: Callable[[Path], T]) -> T:
    """Build a dataset in a staging dir beside `dataset_dir` with `build(staging)`, then swap it in: only the
    files of the old dataset's manifest are replaced or removed, a kill at any point rolls forward on the next
    command (pipelines.swap), and files the project did not write stay."""
    dataset_dir = Path(dataset_dir)
    staged = staging_dir(dataset_dir)
    try:
        out = build(staged)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    swap_in(staged, dataset_dir)
    return out


def rewrite_dataset(
    rows: Sequence[dict],
    stats: Sequence[StageStats],
    dataset_dir: Path,
    *,
    filters: Sequence[Any] = (),
    recipe_text: str = "",
    recipe_name: str = "",
) -> tuple[dict[str, Any], Report]:
    """write_curated into a staging dir, swapped in place of dataset_dir's own files."""
    return build_and_swap(
        dataset_dir,
        lambda staged: write_curated(
            rows, stats, staged, filters=filters, recipe_text=recipe_text, recipe_name=recipe_name
        ),
    )
