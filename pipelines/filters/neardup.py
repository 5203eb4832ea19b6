"""Compact state for near-duplicate search over a stream: shingles of many rows at once, MinHash signatures
from a compiled implementation (`rensa`), and an LSH index of band keys in sorted numpy runs.

The index holds 6 bytes per band and kept row (a 32-bit key and its slot as a 2-byte offset) and a 64-byte
sketch; the kept rows' ids and sorted distinct shingles go to temporary files, read back only for the LSH
candidates that pass the sketch, whose exact Jaccard of shingle sets decides.
"""

from __future__ import annotations

import math
import os
import tempfile
import zlib

import numpy as np

from pipelines.filters.dedup_state import IdStore, Offsets, SortedRuns

FIELD_TAG = {"anchor": 1, "positive": 2, "negative": 3, "text_b": 4, "ranked": 5}
_SHORT = np.uint64(1 << 59)  # grams of a field shorter than k bytes: flag, with the length in bits 56-58

Parts = list[tuple[str, str]]
_ROW_CHUNK = 1024  # batch rows looked up at once
_PAIR_CHUNK = 1 << 16  # candidate pairs screened at once: 64-byte sketches, a few MB of temporaries
_READ_CACHE = 1024  # stored rows' shingle arrays held at once within a batch (a few kB each)


def _crc_grams(parts: Parts, k: int) -> list[int]:
    """k > 7 bytes do not fit a packed integer: CRC32 of each k-gram, seeded by the field name."""
    out: list[int] = []
    for f, text in parts:
        if text:
            data, seed = text.encode("utf-8"), zlib.crc32(f"{f}\x1f".encode("utf-8"))
            out.extend(zlib.crc32(data[i : i + k], seed) for i in range(max(1, len(data) - k + 1)))
    return out


def gram_arrays(rows: list[Parts], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Byte k-grams of every row's fields as uint64 (the k bytes themselves, field tag in the top bits), in
    one vectorised pass: (flat values, n+1 row offsets). A row may repeat a value; use set() for Jaccard."""
    if k > 7:
        lists = [_crc_grams(p, k) for p in rows]
        counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        flat = np.fromiter((v for x in lists for v in x), dtype=np.uint64, count=int(counts.sum()))
        return flat, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    datas: list[bytes] = []
    tags: list[int] = []
    owner: list[int] = []
    for i, parts in enumerate(rows):
        for f, text in parts:
            if text:
                datas.append(text.encode("utf-8"))
                tags.append(FIELD_TAG[f])
                owner.append(i)
    lens = np.fromiter(map(len, datas), dtype=np.int64, count=len(datas))
    buf = b"".join(datas) + b"\0" * 8
    # every position's next 8 bytes as one big-endian integer: a strided view of the buffer, no shift loop
    windows = np.ndarray((max(len(buf) - 7, 0),), dtype=">u8", buffer=buf, strides=(1,))
    n_grams = np.maximum(lens - k + 1, 1)  # a text shorter than k bytes is one gram
    seg = np.repeat(np.arange(len(datas)), n_grams)
    at = np.repeat(np.cumsum(lens) - lens - np.cumsum(n_grams) + n_grams, n_grams) + np.arange(int(n_grams.sum()))
    g = windows[at].astype(np.uint64)
    del at
    n = np.minimum(lens, k).astype(np.uint64)[seg]
    g >>= np.uint64(64) - np.uint64(8) * n  # the first min(len, k) bytes
    short = np.flatnonzero(lens[seg] < k)
    if short.size:
        g[short] |= _SHORT | (n[short] << np.uint64(56))
    g |= np.asarray(tags, dtype=np.uint64)[seg] << np.uint64(60)
    counts = np.zeros(len(rows), dtype=np.int64)
    np.add.at(counts, np.asarray(owner, dtype=np.int64), n_grams)
    return g, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def gram_set(parts: Parts, k: int) -> set[int]:
    """One row's shingles, the values `gram_arrays` gives, without numpy's per-call cost."""
    if k > 7:
        return set(_crc_grams(parts, k))
    out: set[int] = set()
    for f, text in parts:
        if not text:
            continue
        data, tag = text.encode("utf-8"), FIELD_TAG[f] << 60
        if len(data) < k:
            out.add(int.from_bytes(data, "big") | (1 << 59) | (len(data) << 56) | tag)
        else:
            out.update(int.from_bytes(data[i : i + k], "big") | tag for i in range(len(data) - k + 1))
    return out


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def bands(threshold: float, num_perm: int, recall: float = 0.999) -> tuple[int, int]:
    """(bands, rows per band) with the most rows per band (fewest false candidates) that still proposes a
    pair at exactly the threshold with probability >= recall: 1 - (1 - t^r)^b. At t = 0.85 and 128
    permutations: 18 x 7 (datasketch's split at t - 0.1, 11 x 11, proposes such a pair only 87 % of the time)."""
    for r in range(num_perm, 0, -1):
        b = num_perm // r
        if 1 - (1 - threshold**r) ** b >= recall:
            return b, r
    return num_perm, 1


def min_matches(threshold: float, n: int, miss: float = 1e-6) -> int:
    """Fewest equal values out of n MinHash values that a pair at the threshold falls below with probability
    <= miss: candidates with fewer are skipped without reading their text."""
    below = 0.0
    for m in range(n + 1):
        below += math.comb(n, m) * threshold**m * (1 - threshold) ** (n - m)
        if below > miss:
            return m
    return n


class NearIndex:
    """Rows inserted in order; `check` returns, per row, the id of the first earlier kept row with Jaccard
    >= threshold (the row is then not inserted) or None (inserted).

    Per kept row the index holds 18 band keys of 4 bytes with a 2-byte slot offset (`SortedRuns`), a 64-byte sketch
    and 8 bytes of offsets; its id and its sorted distinct shingles go to temporary files. Candidates from the
    bands are first screened by the sketch (vectorised over the batch), then confirmed with the exact Jaccard of
    the shingle sets, read back as arrays (no re-shingling, no Python sets)."""

    def __init__(self, threshold: float, num_perm: int, k: int):
        self.threshold, self.num_perm, self.k = threshold, num_perm, k
        self.b, self.r = bands(threshold, num_perm)
        rng = np.random.default_rng(1)
        self._mult = rng.integers(1, 2**63, size=(self.b, self.r), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        # 32-bit band key -> slot, stored as a 2-byte offset (a false key match only adds a screened candidate)
        self._bands = SortedRuns(compact_values=True)
        self.size = 0
        self._spill = tempfile.TemporaryFile(prefix="csynth-dedup-")  # kept rows' sorted distinct shingles
        self._starts = Offsets()
        self._ids = IdStore()  # slot -> the kept row's id
        # a 64-byte sketch per kept row (low bytes of its first MinHash values) skips most false LSH candidates;
        # reserved large and grown rarely: pages not yet written take no memory
        self._n_sketch = min(64, num_perm)
        self._min_matches = min_matches(threshold, self._n_sketch)
        self._sketch = np.empty((1 << 20, self._n_sketch), dtype=np.uint8)

    def _band_keys(self, flat: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from rensa import RMinHash

        m = RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets.astype(np.uint64), self.num_perm, 1)
        d = np.array(m.to_rows(), dtype=np.uint32).reshape(-1, self.num_perm).astype(np.uint64)
        keys = np.empty((d.shape[0], self.b), dtype=np.uint64)
        for i in range(self.b):
            band = d[:, i * self.r : (i + 1) * self.r] * self._mult[i]
            keys[:, i] = band.sum(axis=1, dtype=np.uint64) ^ np.uint64((i + 1) * 0x9E3779B97F4A7C15 % 2**64)
        return (keys >> np.uint64(32)).astype(np.uint32), (d[:, : self._n_sketch] & np.uint64(0xFF)).astype(np.uint8)

    def _stored(self, keys: np.ndarray, sketch: np.ndarray) -> dict[int, list[int]]:
        """Row -> slots of earlier batches sharing a band key and passing the sketch screen, ascending.

        Rows go through in chunks and their candidate pairs through the screen in chunks: candidates grow with
        the rows seen (a re-used anchor meets each earlier row of its own), the temporaries must not."""
        out: dict[int, list[int]] = {}
        for first in range(0, len(keys), _ROW_CHUNK):
            qi, slots = self._bands.lookup(keys[first : first + _ROW_CHUNK].ravel())
            if not qi.size:
                continue
            pair = np.unique((qi // self.b + first) * (1 << 32) + slots)
            del qi, slots
            for at in range(0, len(pair), _PAIR_CHUNK):
                part = pair[at : at + _PAIR_CHUNK]
                rows, slots = part >> 32, part & 0xFFFFFFFF
                ok = (self._sketch[slots] == sketch[rows]).sum(axis=1, dtype=np.int32) >= self._min_matches
                for row, slot in zip(rows[ok].tolist(), slots[ok].tolist()):
                    out.setdefault(row, []).append(slot)
        return out

    def _in_batch(self, keys: np.ndarray, sketch: np.ndarray) -> dict[int, set[int]]:
        """Row -> earlier rows of this batch sharing a band key and passing the sketch screen."""
        flat = keys.ravel()
        order = np.argsort(flat, kind="stable")  # equal keys stay in row order
        s = flat[order]
        same = np.flatnonzero(s[1:] == s[:-1])
        out: dict[int, set[int]] = {}
        if not same.size:
            return out
        group_start = -1
        for i in same.tolist():  # s[i] == s[i + 1]: row of i + 1 follows every row of its group so far
            if i != group_start and (i == 0 or s[i - 1] != s[i]):
                group_start = i
            row = int(order[i + 1]) // self.b
            out.setdefault(row, set()).update(int(order[t]) // self.b for t in range(group_start, i + 1))
        for row, earlier in list(out.items()):
            cand = sorted(earlier - {row})
            ok = (sketch[cand] == sketch[row]).sum(axis=1) >= self._min_matches if cand else []
            out[row] = {c for c, good in zip(cand, ok) if good}
        return out

    def _spilled(self, slot: int) -> np.ndarray:
        """A stored row's sorted, distinct shingles, read back from the spill file."""
        start, end = self._starts[slot], self._starts[slot + 1]
        return np.frombuffer(os.pread(self._spill.fileno(), end - start, start), dtype=np.uint64)

    def _first_match(self, mine: np.ndarray, others: list[np.ndarray]) -> int | None:
        """Index of the first of `others` (sorted, distinct shingles) whose exact Jaccard with `mine` reaches
        the threshold: |A & B| / (|A| + |B| - |A & B|), intersections counted by one search of all of them."""
        both = np.concatenate(others)
        at = np.searchsorted(mine, both)
        at[at == len(mine)] = 0
        lens = np.fromiter((len(o) for o in others), dtype=np.int64, count=len(others))
        inter = np.add.reduceat((mine[at] == both).astype(np.int64), np.cumsum(lens) - lens)
        jac = inter / (len(mine) + lens - inter)
        hit = np.flatnonzero(jac >= self.threshold)
        return int(hit[0]) if hit.size else None

    def check(self, rows: list[Parts], ids: list[str]) -> list[str | None]:
        if not rows:
            return []
        flat, offsets = gram_arrays(rows, self.k)
        keys, sketch = self._band_keys(flat, offsets)
        if self.size + len(rows) > len(self._sketch):
            grown = np.empty((2 * (self.size + len(rows)), self._n_sketch), dtype=np.uint8)
            grown[: self.size] = self._sketch[: self.size]
            self._sketch = grown
        stored = self._stored(keys, sketch)
        earlier = self._in_batch(keys, sketch)
        mine: dict[int, np.ndarray] = {}
        read: dict[int, np.ndarray] = {}

        def grams(j: int) -> np.ndarray:
            if j not in mine:
                g = np.sort(flat[offsets[j] : offsets[j + 1]])
                mine[j] = g[np.concatenate(([True], g[1:] != g[:-1]))]  # np.unique, without its overhead
            return mine[j]

        def spilled(slot: int) -> np.ndarray:
            if slot not in read:
                if len(read) >= _READ_CACHE:  # rows of one batch rarely share candidates: hold a few, not all
                    read.clear()
                read[slot] = self._spilled(slot)
            return read[slot]

        slot_of: dict[int, int] = {}  # row of this batch -> its slot, once inserted
        spill: list[bytes] = []
        inserted: list[int] = []
        out: list[str | None] = [None] * len(rows)
        for j in range(len(rows)):
            cands = stored.get(j, [])
            m = self._first_match(grams(j), [spilled(c) for c in cands]) if cands else None
            if m is not None:
                out[j] = self._ids.get(cands[m])
                continue
            local = sorted((p for p in earlier.get(j, ()) if p in slot_of), key=slot_of.__getitem__)
            m = self._first_match(grams(j), [grams(p) for p in local]) if local else None
            if m is not None:
                out[j] = ids[local[m]]
                continue
            slot_of[j] = self.size
            self.size += 1
            blob = grams(j).tobytes()
            spill.append(blob)
            self._starts.append(self._starts[-1] + len(blob))
            inserted.append(j)
        self._ids.extend([ids[j] for j in inserted])
        self._spill.seek(0, os.SEEK_END)
        self._spill.write(b"".join(spill))
        self._spill.flush()
        if inserted:
            rows_in = np.asarray(inserted, dtype=np.int64)
            slots = np.arange(self.size - len(inserted), self.size, dtype=np.int64)
            self._sketch[slots] = sketch[rows_in]
            self._bands.add(keys[rows_in].ravel(), np.repeat(slots.astype(np.uint32), self.b))
        return out

    def close(self) -> None:
        self._spill.close()
        self._ids.close()
