"""Shard files: content-derived names, atomic writes, and what is already done.

A shard is written to a temporary file in the same directory and renamed into place, so a reader sees
either no shard or a whole one; a killed run leaves at most a `.tmp-*` file, removed on the next run.
A shard's key hashes everything that determines its content, so a rerun skips exactly the finished ones.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Sequence, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from synth.records import content_id

T = TypeVar("T")


def split(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def shard_key(*parts: object) -> str:
    """Key of a shard from its determining inputs (recipe section hash, input ids, model hash...)."""
    return content_id("shard", *parts, length=12)


def shard_path(directory: Path, index: int, key: str) -> Path:
    return directory / f"shard-{index:05d}-{key}.parquet"


def write_table_atomic(table: pa.Table, path: Path) -> Path:
    """Write a Parquet file so that it appears whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".parquet")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text_atomic(text: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def clean_partials(directory: Path) -> int:
    """Remove temporary files a killed run left behind (ours: `.tmp-*` in a project directory); returns how many."""
    if not directory.exists():
        return 0
    n = 0
    for p in directory.rglob(".tmp-*"):
        if p.is_file():
            p.unlink()
            n += 1
    return n


def shard_problem(path: Path, required: Sequence[str] = ()) -> str | None:
    """Why a shard on disk cannot be used (unreadable footer, missing columns), or None when it is whole."""
    try:
        schema = pq.read_schema(path)
    except Exception as e:  # noqa: BLE001 - any reader error means the file is not a whole shard
        return f"unreadable Parquet ({type(e).__name__}: {e})"
    missing = [c for c in required if c not in schema.names]
    return f"missing columns {missing}" if missing else None


def set_aside(path: Path, why: str) -> Path:
    """Move a shard the project wrote out of the way, into `<dir>/../.<why>/<dir name>/`, never deleting it."""
    dest_dir = path.parent.parent / f".{why}" / path.parent.name
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / path.name
    if dest.exists():  # an earlier copy: keep both
        dest = dest_dir / f"{path.stem}.{os.getpid()}-{len(list(dest_dir.iterdir()))}{path.suffix}"
    os.replace(path, dest)
    return dest


def restore_stale(path: Path) -> bool:
    """A planned shard that an earlier plan set aside as stale comes back instead of being regenerated."""
    old = path.parent.parent / ".stale" / path.parent.name / path.name
    if path.exists() or not old.exists():
        return False
    os.replace(old, path)
    return True


def set_aside_unplanned(directory: Path, planned: Sequence[Path]) -> list[Path]:
    """Shards under `directory` that the plan does not list go to `.stale/` (so nothing globbing the folder
    mixes them in); returns their new paths."""
    keep = {Path(p).resolve() for p in planned}
    return [set_aside(p, "stale") for p in finished_shards(directory) if p.resolve() not in keep]


def finished_shards(directory: Path) -> list[Path]:
    return sorted(directory.glob("shard-*.parquet")) if directory.exists() else []


def read_shards(paths: Sequence[Path]) -> pa.Table | None:
    tables = [pq.read_table(p) for p in paths]
    return pa.concat_tables(tables) if tables else None
