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
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


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
    """Remove temporary files a killed run left behind; returns how many."""
    if not directory.exists():
        return 0
    n = 0
    for p in directory.rglob(".tmp-*"):
        if p.is_file():
            p.unlink()
            n += 1
    return n


def finished_shards(directory: Path) -> list[Path]:
    return sorted(directory.glob("shard-*.parquet")) if directory.exists() else []


def read_shards(paths: Sequence[Path]) -> pa.Table | None:
    tables = [pq.read_table(p) for p in paths]
    return pa.concat_tables(tables) if tables else None
