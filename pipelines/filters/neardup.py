"""Compact state for near-duplicate search over a stream: shingles of many rows at once, MinHash signatures
from a compiled implementation (`rensa`), and an LSH index of band keys in sorted numpy runs.

The index holds 8 bytes per band and row plus the kept row's id; the text of kept rows goes to a temporary
spill file, read back only for the few LSH candidates, whose exact Jaccard of shingle sets decides.
"""
from __future__ import annotations

import math
import os
import tempfile
import zlib
from array import array

import numpy as np

FIELD_TAG = {"anchor": 1, "positive": 2, "negative": 3, "text_b": 4, "ranked": 5}
_SHORT = np.uint64(1 << 59)  # grams of a field shorter than k bytes: flag, with the length in bits 56-58

Parts = list[tuple[str, str]]


def _crc_grams(parts: Parts, k: int) -> list[int]:
    """k > 7 bytes do not fit a packed integer: CRC32 of each k-gram, seeded by the field name."""
    out: list[int] = []
    for f, text in parts:
        if text:
            data, seed = text.encode("utf-8"), zlib.crc32(f"{f}\x1f".encode("utf-8"))
            out.extend(zlib.crc32(data[i:i + k], seed) for i in range(max(1, len(data) - k + 1)))
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
    lens = np.fromiter((len(d) for d in datas), dtype=np.int64, count=len(datas))
    total = int(lens.sum())
    buf = np.frombuffer(b"".join(datas) + b"\0" * k, dtype=np.uint8).astype(np.uint64)
    g = np.zeros(total, dtype=np.uint64)
    for j in range(k):
        g = (g << np.uint64(8)) | buf[j:j + total]
    seg = np.repeat(np.arange(len(datas)), lens)
    starts = np.cumsum(lens) - lens
    pos = np.arange(total) - starts[seg]
    seg_len = lens[seg]
    full = seg_len >= k
    valid = (full & (pos <= seg_len - k)) | (~full & (pos == 0))
    short = ~full & valid
    if short.any():
        n = seg_len[short].astype(np.uint64)
        g[short] = (g[short] >> (np.uint64(8) * (np.uint64(k) - n))) | _SHORT | (n << np.uint64(56))
    g |= np.asarray(tags, dtype=np.uint64)[seg] << np.uint64(60)
    keep = np.flatnonzero(valid)
    counts = np.bincount(np.asarray(owner, dtype=np.int64)[seg[keep]], minlength=len(rows))
    return g[keep], np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


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
            out.update(int.from_bytes(data[i:i + k], "big") | tag for i in range(len(data) - k + 1))
    return out


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def bands(threshold: float, num_perm: int, recall: float = 0.999) -> tuple[int, int]:
    """(bands, rows per band) with the most rows per band (fewest false candidates) that still proposes a
    pair at exactly the threshold with probability >= recall: 1 - (1 - t^r)^b. At t = 0.85 and 128
    permutations: 18 x 7 (datasketch's split at t - 0.1, 11 x 11, proposes such a pair only 87 % of the time)."""
    for r in range(num_perm, 0, -1):
        b = num_perm // r
        if 1 - (1 - threshold ** r) ** b >= recall:
            return b, r
    return num_perm, 1


def min_matches(threshold: float, n: int, miss: float = 1e-6) -> int:
    """Fewest equal values out of n MinHash values that a pair at the threshold falls below with probability
    <= miss: candidates with fewer are skipped without reading their text."""
    below = 0.0
    for m in range(n + 1):
        below += math.comb(n, m) * threshold ** m * (1 - threshold) ** (n - m)
        if below > miss:
            return m
    return n


class NearIndex:
    """Rows inserted in order; `check` returns, per row, the id of the first earlier kept row with Jaccard
    >= threshold (the row is then not inserted) or None (inserted). LSH at threshold - 0.1 proposes."""

    def __init__(self, threshold: float, num_perm: int, k: int):
        self.threshold, self.num_perm, self.k = threshold, num_perm, k
        self.b, self.r = bands(threshold, num_perm)
        rng = np.random.default_rng(1)
        self._mult = rng.integers(1, 2**63, size=(self.b, self.r), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted band keys, slots)
        self.ids: list[str] = []
        self._spill = tempfile.TemporaryFile(prefix="csynth-dedup-")
        self._starts = array("q", [0])
        # a 64-byte sketch per kept row (low bytes of its first MinHash values) skips most false LSH candidates
        self._n_sketch = min(64, num_perm)
        self._min_matches = min_matches(threshold, self._n_sketch)
        self._sketch = np.empty((1024, self._n_sketch), dtype=np.uint8)

    def _band_keys(self, flat: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from rensa import RMinHash

        m = RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets.astype(np.uint64), self.num_perm, 1)
        d = np.fromiter((v for row in m.to_rows() for v in row), dtype=np.uint32,
                        count=m.len() * self.num_perm).reshape(-1, self.num_perm).astype(np.uint64)
        keys = np.empty((d.shape[0], self.b), dtype=np.uint64)
        for i in range(self.b):
            band = d[:, i * self.r:(i + 1) * self.r] * self._mult[i]
            keys[:, i] = band.sum(axis=1, dtype=np.uint64) ^ np.uint64((i + 1) * 0x9E3779B97F4A7C15 % 2**64)
        return keys, (d[:, :self._n_sketch] & np.uint64(0xFF)).astype(np.uint8)

    def _stored(self, keys: np.ndarray) -> dict[int, set[int]]:
        """Row -> slots of earlier batches sharing a band key (only rows with any)."""
        out: dict[int, set[int]] = {}
        q = keys.ravel()
        for run_keys, slots in self._runs:
            lo = np.searchsorted(run_keys, q, "left")
            hi = np.searchsorted(run_keys, q, "right")
            for flat_i in np.flatnonzero(hi > lo).tolist():
                out.setdefault(flat_i // self.b, set()).update(slots[lo[flat_i]:hi[flat_i]].tolist())
        return out

    def _in_batch(self, keys: np.ndarray) -> dict[int, set[int]]:
        """Row -> earlier rows of this batch sharing a band key (only rows with any), found by one sort."""
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
        return out

    @staticmethod
    def _row_set(flat: np.ndarray, offsets: np.ndarray, j: int) -> set[int]:
        return set(flat[offsets[j]:offsets[j + 1]].tolist())

    def _spilled(self, slot: int) -> set[int]:
        start, end = self._starts[slot], self._starts[slot + 1]
        blob = os.pread(self._spill.fileno(), end - start, start).decode("utf-8", "surrogatepass")
        return gram_set([tuple(p.split("\x1e", 1)) for p in blob.split("\x1f")], self.k)  # type: ignore[misc]

    def check(self, rows: list[Parts], ids: list[str]) -> list[str | None]:
        if not rows:
            return []
        flat, offsets = gram_arrays(rows, self.k)
        keys, sketch = self._band_keys(flat, offsets)
        if len(self.ids) + len(rows) > len(self._sketch):
            grown = np.empty((2 * (len(self.ids) + len(rows)), self._n_sketch), dtype=np.uint8)
            grown[:len(self.ids)] = self._sketch[:len(self.ids)]
            self._sketch = grown
        stored = self._stored(keys)
        earlier = self._in_batch(keys)
        slot_of: dict[int, int] = {}  # row of this batch -> its slot, once inserted
        local: dict[int, int] = {}  # slot -> row of this batch
        spill: list[bytes] = []
        inserted: list[int] = []
        out: list[str | None] = [None] * len(rows)
        for j, parts in enumerate(rows):
            cands = stored.get(j, set())
            cands.update(slot_of[p] for p in earlier.get(j, ()) if p in slot_of)
            match = None
            if cands:
                ordered = sorted(cands)
                likely = (self._sketch[ordered] == sketch[j]).sum(axis=1) >= self._min_matches
                cands = [c for c, ok in zip(ordered, likely.tolist()) if ok]
            if cands:
                mine = self._row_set(flat, offsets, j)
                for c in cands:
                    other = self._row_set(flat, offsets, local[c]) if c in local else self._spilled(c)
                    if jaccard(mine, other) >= self.threshold:
                        match = c
                        break
            if match is not None:
                out[j] = self.ids[match]
                continue
            slot = len(self.ids)
            self.ids.append(ids[j])
            blob = "\x1f".join(f"{f}\x1e{t}" for f, t in parts).encode("utf-8", "surrogatepass")  # norm()ed: no \x1e/\x1f
            spill.append(blob)
            self._starts.append(self._starts[-1] + len(blob))
            local[slot] = j
            slot_of[j] = slot
            self._sketch[slot] = sketch[j]
            inserted.append(j)
        self._spill.seek(0, os.SEEK_END)
        self._spill.write(b"".join(spill))
        self._spill.flush()
        if inserted:
            rows_in = np.asarray(inserted, dtype=np.int64)
            slots = np.repeat(np.asarray([slot_of[j] for j in inserted], dtype=np.int32), self.b)
            self._add_run(keys[rows_in].ravel(), slots)
        return out

    def _add_run(self, keys: np.ndarray, slots: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        self._runs.append((keys[order], slots[order]))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            (k2, s2), (k1, s1) = self._runs.pop(), self._runs.pop()
            k, s = np.concatenate([k1, k2]), np.concatenate([s1, s2])
            order = np.argsort(k, kind="stable")
            self._runs.append((k[order], s[order]))

    def close(self) -> None:
        self._spill.close()
