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

from pipelines.filters.dedup_state import SortedRuns

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
    >= threshold (the row is then not inserted) or None (inserted).

    Per kept row the index holds 18 band keys of 4 bytes with a 4-byte slot (`SortedRuns`), a 64-byte sketch
    and 8 bytes of spill offset; its id and text go to a temporary spill file. Candidates from the bands are
    first screened by the sketch (vectorised over the batch), then confirmed with the exact Jaccard of the
    shingle sets; the candidates' texts are read back and shingled in one vectorised pass per batch."""

    def __init__(self, threshold: float, num_perm: int, k: int):
        self.threshold, self.num_perm, self.k = threshold, num_perm, k
        self.b, self.r = bands(threshold, num_perm)
        rng = np.random.default_rng(1)
        self._mult = rng.integers(1, 2**63, size=(self.b, self.r), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self._bands = SortedRuns()  # 32-bit band key -> slot (a false key match only adds a screened candidate)
        self.size = 0
        self._spill = tempfile.TemporaryFile(prefix="csynth-dedup-")
        self._starts = array("q", [0])
        # a 64-byte sketch per kept row (low bytes of its first MinHash values) skips most false LSH candidates;
        # reserved large and grown rarely: pages not yet written take no memory
        self._n_sketch = min(64, num_perm)
        self._min_matches = min_matches(threshold, self._n_sketch)
        self._sketch = np.empty((1 << 20, self._n_sketch), dtype=np.uint8)

    def _band_keys(self, flat: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from rensa import RMinHash

        m = RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets.astype(np.uint64), self.num_perm, 1)
        d = np.fromiter((v for row in m.to_rows() for v in row), dtype=np.uint32,
                        count=m.len() * self.num_perm).reshape(-1, self.num_perm).astype(np.uint64)
        keys = np.empty((d.shape[0], self.b), dtype=np.uint64)
        for i in range(self.b):
            band = d[:, i * self.r:(i + 1) * self.r] * self._mult[i]
            keys[:, i] = band.sum(axis=1, dtype=np.uint64) ^ np.uint64((i + 1) * 0x9E3779B97F4A7C15 % 2**64)
        return (keys >> np.uint64(32)).astype(np.uint32), (d[:, :self._n_sketch] & np.uint64(0xFF)).astype(np.uint8)

    def _stored(self, keys: np.ndarray, sketch: np.ndarray) -> dict[int, list[int]]:
        """Row -> slots of earlier batches sharing a band key and passing the sketch screen, ascending."""
        qi, slots = self._bands.lookup(keys.ravel())
        if not qi.size:
            return {}
        pair = np.unique((qi // self.b) * (1 << 32) + slots)
        rows, slots = pair >> 32, pair & 0xFFFFFFFF
        ok = (self._sketch[slots] == sketch[rows]).sum(axis=1) >= self._min_matches
        out: dict[int, list[int]] = {}
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

    def _read_spilled(self, slots: list[int]) -> dict[int, tuple[str, set[int]]]:
        """slot -> (kept id, shingle set) for these stored rows: one read each, one vectorised shingling."""
        fd = self._spill.fileno()
        ids, parts = [], []
        for slot in slots:
            start, end = self._starts[slot], self._starts[slot + 1]
            rid, blob = os.pread(fd, end - start, start).decode("utf-8", "surrogatepass").split("\x1d", 1)
            ids.append(rid)
            parts.append([tuple(p.split("\x1e", 1)) for p in blob.split("\x1f")])
        flat, offsets = gram_arrays(parts, self.k)  # type: ignore[arg-type]
        return {slot: (rid, self._row_set(flat, offsets, i)) for i, (slot, rid) in enumerate(zip(slots, ids))}

    @staticmethod
    def _row_set(flat: np.ndarray, offsets: np.ndarray, j: int) -> set[int]:
        return set(flat[offsets[j]:offsets[j + 1]].tolist())

    def _jaccard_at_least(self, a: set[int], b: set[int]) -> bool:
        inter = len(a & b) if len(a) <= len(b) else len(b & a)
        union = len(a) + len(b) - inter
        return (inter / union if union else 1.0) >= self.threshold

    def check(self, rows: list[Parts], ids: list[str]) -> list[str | None]:
        if not rows:
            return []
        flat, offsets = gram_arrays(rows, self.k)
        keys, sketch = self._band_keys(flat, offsets)
        if self.size + len(rows) > len(self._sketch):
            grown = np.empty((2 * (self.size + len(rows)), self._n_sketch), dtype=np.uint8)
            grown[:self.size] = self._sketch[:self.size]
            self._sketch = grown
        stored = self._stored(keys, sketch)
        earlier = self._in_batch(keys, sketch)
        spilled = self._read_spilled(sorted({s for slots in stored.values() for s in slots}))
        mine: dict[int, set[int]] = {}

        def grams(j: int) -> set[int]:
            if j not in mine:
                mine[j] = self._row_set(flat, offsets, j)
            return mine[j]

        slot_of: dict[int, int] = {}  # row of this batch -> its slot, once inserted
        spill: list[bytes] = []
        inserted: list[int] = []
        out: list[str | None] = [None] * len(rows)
        for j, parts in enumerate(rows):
            match = next((spilled[c][0] for c in stored.get(j, ()) if self._jaccard_at_least(grams(j), spilled[c][1])),
                         None)
            if match is None:
                match = next((ids[p] for p in sorted(earlier.get(j, ()), key=lambda p: slot_of.get(p, -1))
                              if p in slot_of and self._jaccard_at_least(grams(j), grams(p))), None)
            if match is not None:
                out[j] = match
                continue
            slot = self.size
            self.size += 1
            blob = (ids[j] + "\x1d" + "\x1f".join(f"{f}\x1e{t}" for f, t in parts)).encode("utf-8", "surrogatepass")
            spill.append(blob)  # norm()ed text holds no \x1d/\x1e/\x1f
            self._starts.append(self._starts[-1] + len(blob))
            slot_of[j] = slot
            inserted.append(j)
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
