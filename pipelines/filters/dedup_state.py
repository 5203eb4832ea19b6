"""Compact, append-only state for dedup over a stream of batches: what grows with the rows is numpy arrays and
a temporary file, never Python objects per row.

- `SortedRuns`: integer keys with an int64 value each, in sorted numpy runs searched with `searchsorted`.
  Runs merge while they are of similar size, but never beyond `cap` entries, so there is no late merge of the
  whole index (a sort of every key with its temporary copies was the 1M-row benchmark's memory peak).
- `IdStore`: row ids in a temporary file, 4 bytes of offset per row in memory (`Offsets`); an id is read back
  only when a duplicate names it in its reason.
- `ExactIndex`: first occurrence of each 8-byte hash, over every batch.
"""

from __future__ import annotations

import ctypes
import os
import tempfile
from array import array
from functools import lru_cache
from typing import Sequence

import numpy as np


@lru_cache(maxsize=1)
def _malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim  # glibc
    except (OSError, AttributeError):
        return None


def release_free_memory() -> None:
    """Hand freed heap pages back to the OS. glibc keeps them resident, and dedup's batch temporaries (shingle
    arrays, digests, lookups: tens of MB a batch) freed between longer-lived objects made a long stream's RSS
    ratchet up; a no-op where glibc's malloc_trim is missing."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


RUN_CAP = 1 << 21  # entries per merged run: merges stay a few tens of MB


class SortedRuns:
    """`compact_values`: values are stored as offsets from their run's smallest, in 2 bytes while they fit
    (band slots are consecutive, so a run of up to 65,536 rows' bands costs 6 bytes an entry, not 8); runs
    merge only while their offsets keep their width."""

    def __init__(self, cap: int = RUN_CAP, compact_values: bool = False):
        self.cap, self.compact = cap, compact_values
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []
        self.spans: list[tuple[int, int]] = []  # each run's (smallest, largest) value: offsets are from the first

    def __len__(self) -> int:
        return sum(len(k) for k, _ in self.runs)

    def add(self, keys: np.ndarray, values: np.ndarray) -> None:
        if not len(keys):
            return
        order = np.argsort(keys, kind="stable")
        keys, values = keys[order], values[order]
        del order
        if self.compact:
            lo, hi = int(values.min()), int(values.max())
            values = (values - values.dtype.type(lo)).astype(_offset_type(hi - lo))
        else:
            lo, hi = 0, 0
        self.runs.append((keys, values))
        self.spans.append((lo, hi))
        while (
            len(self.runs) > 1
            and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0])
            and len(self.runs[-2][0]) + len(self.runs[-1][0]) <= self.cap
            and self._same_width()
        ):
            (k2, v2), (k1, v1) = self.runs.pop(), self.runs.pop()
            (lo2, hi2), (lo1, hi1) = self.spans.pop(), self.spans.pop()
            lo = min(lo1, lo2)
            if self.compact:  # re-based on the merged run's smallest value, same width (_same_width)
                v1 = v1 + v1.dtype.type(lo1 - lo) if lo1 != lo else v1
                v2 = v2 + v2.dtype.type(lo2 - lo) if lo2 != lo else v2
            self.runs.append(_merge(k1, v1, k2, v2))
            self.spans.append((lo, max(hi1, hi2)))

    def _same_width(self) -> bool:
        """The last two runs' values, as offsets from their common smallest, fit the wider of their types."""
        if not self.compact:
            return True
        (lo1, hi1), (lo2, hi2) = self.spans[-2], self.spans[-1]
        width = max(self.runs[-2][1].dtype.itemsize, self.runs[-1][1].dtype.itemsize)
        return (
            np.dtype(_offset_type(max(hi1, hi2) - min(lo1, lo2))).itemsize <= width
            and self.runs[-2][1].dtype == self.runs[-1][1].dtype
        )

    def lookup(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (query index, value) whose key equals the query, over all runs (older runs first; within a
        run, in insertion order)."""
        if not self.runs or not len(queries):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        by_key = np.argsort(queries, kind="stable")  # sorted queries: each search starts where the last ended
        sq = queries[by_key]
        qs, vs = [], []
        for (keys, values), (base, _) in zip(self.runs, self.spans):
            lo = np.searchsorted(keys, sq, "left")
            hit = np.flatnonzero(keys[np.minimum(lo, len(keys) - 1)] == sq)  # most queries miss: no 2nd search
            if not hit.size:
                continue
            lo = lo[hit]
            counts = np.searchsorted(keys, sq[hit], "right") - lo
            starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
            qs.append(by_key[np.repeat(hit, counts)])
            found = values[starts + np.arange(int(counts.sum()))]
            vs.append(found.astype(np.int64) + base if base else found)
        if not qs:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate(qs).astype(np.int64), np.concatenate(vs).astype(np.int64)


def _offset_type(span: int) -> type:
    return np.uint16 if span < 1 << 16 else np.uint32 if span < 1 << 32 else np.uint64


def _merge(k1: np.ndarray, v1: np.ndarray, k2: np.ndarray, v2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two sorted runs as one, k1's entries before k2's among equal keys: k2 is inserted where a search puts
    it, so the temporaries are one position per k2 entry and a mask (no sort of the concatenation)."""
    at = np.searchsorted(k1, k2, "right")
    at += np.arange(len(k2))
    k = np.empty(len(k1) + len(k2), dtype=np.result_type(k1, k2))
    v = np.empty(len(k), dtype=np.result_type(v1, v2))
    k[at], v[at] = k2, v2
    rest = np.ones(len(k), dtype=bool)
    rest[at] = False
    del at
    k[rest], v[rest] = k1, v1
    return k, v


class Offsets:
    """Growing file offsets, 4 bytes each until one passes 4 GiB, then 8 (a row costs 4 bytes, not 8)."""

    def __init__(self) -> None:
        self._a = array("I", [0])

    def __len__(self) -> int:
        return len(self._a)

    def __getitem__(self, i: int) -> int:
        return self._a[i]

    @property
    def itemsize(self) -> int:
        return self._a.itemsize

    def append(self, value: int) -> None:
        if value >= 1 << 32 and self._a.typecode == "I":
            self._a = array("q", self._a)
        self._a.append(value)


class IdStore:
    """Append-only ids on disk; `get(i)` reads one back."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="csynth-ids-")
        self._starts = Offsets()

    def __len__(self) -> int:
        return len(self._starts) - 1

    def extend(self, ids: Sequence[str]) -> int:
        """Append ids; returns the index of the first."""
        base = len(self)
        blobs = [i.encode("utf-8", "surrogatepass") for i in ids]
        end = self._starts[-1]
        for b in blobs:
            end += len(b)
            self._starts.append(end)
        self._file.seek(0, os.SEEK_END)
        self._file.write(b"".join(blobs))
        self._file.flush()
        return base

    def get(self, i: int) -> str:
        start, end = self._starts[i], self._starts[i + 1]
        return os.pread(self._file.fileno(), end - start, start).decode("utf-8", "surrogatepass")

    def close(self) -> None:
        self._file.close()


def _row_values(rows: np.ndarray) -> np.ndarray:
    """Row indices as 4 bytes each (a dataset of more than 4G rows is refused, not silently wrapped)."""
    if len(rows) and int(rows.max()) >= 1 << 32:
        raise OverflowError(f"dedup indexes at most {1 << 32} rows, got row {int(rows.max())}")
    return rows.astype(np.uint32)


class ExactIndex:
    """The first row (its IdStore index) of each hash seen so far."""

    def __init__(self) -> None:
        self._runs = SortedRuns()

    def check(self, hashes: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """For each hash, the index of the earlier row with it (-1: first occurrence, now inserted); a hash
        repeated within the call points at its first occurrence there."""
        out = np.full(len(hashes), -1, dtype=np.int64)
        qi, vals = self._runs.lookup(hashes)
        out[qi] = vals
        fresh = np.flatnonzero(out < 0)
        if fresh.size:
            uniq, first, inverse = np.unique(hashes[fresh], return_index=True, return_inverse=True)
            owner = fresh[first][inverse]  # position of each fresh hash's first occurrence in this call
            repeat = owner != fresh
            out[fresh[repeat]] = rows[owner[repeat]]
            self._runs.add(uniq, _row_values(rows[fresh[first]]))
        return out
