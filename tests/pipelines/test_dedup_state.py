"""Dedup's compact state: sorted runs never merge past their cap (a late sort of the whole index was the 1M
benchmark's memory peak), lookups see every run, and the exact index keeps the first row of each hash."""

from __future__ import annotations

import numpy as np

from pipelines.filters.dedup_state import ExactIndex, IdStore, SortedRuns


def test_runs_stay_under_the_cap_and_find_every_key():
    runs = SortedRuns(cap=1000)
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 5000, size=20_000).astype(np.uint32)
    for start in range(0, len(keys), 100):
        runs.add(keys[start : start + 100], np.arange(start, start + 100, dtype=np.uint32))
    assert len(runs) == 20_000 and max(len(k) for k, _ in runs.runs) <= 1000 and len(runs.runs) < 60
    q = np.array([keys[7], keys[19_999], 6000], dtype=np.uint32)
    qi, vals = runs.lookup(q)
    for i, key in enumerate(q.tolist()):
        assert sorted(vals[qi == i].tolist()) == np.flatnonzero(keys == key).tolist()


def test_exact_index_keeps_the_first_row_of_each_hash_across_calls():
    idx = ExactIndex()
    first = idx.check(np.array([5, 6, 5], dtype=np.uint64), np.array([0, 1, 2]))
    second = idx.check(np.array([6, 7, 7, 5], dtype=np.uint64), np.array([3, 4, 5, 6]))
    assert first.tolist() == [-1, -1, 0] and second.tolist() == [1, -1, 4, 0]


def test_id_store_reads_back_what_it_was_given():
    store = IdStore()
    assert store.extend(["a1", "é漢", ""]) == 0 and store.extend(["z"]) == 3
    assert [store.get(i) for i in range(4)] == ["a1", "é漢", "", "z"]


def test_configs_skip_a_writers_unfinished_dot_file(tmp_path):
    """A killed streamed curate leaves `data/.tmp-*.parquet` (no footer); the configs read only finished files."""
    from filtering_helpers import rec

    from pipelines.configs import write_configs
    from pipelines.schema import record_to_row, rows_to_table
    from pipelines.shards import write_table_atomic

    (tmp_path / "data").mkdir()
    row = record_to_row(rec("A man sits.", "A man is sitting.", "A dog runs."), {})
    write_table_atomic(rows_to_table([row]), tmp_path / "data" / "train-00000-of-00001.parquet")
    (tmp_path / "data" / ".tmp-killed.parquet").write_bytes(b"PAR1 unfinished")
    written = write_configs(tmp_path)
    assert written["triplet"][1] == 1 and written["pair"][1] == 1


def test_a_merge_allocates_little_beyond_the_merged_run():
    """Merging two sorted runs inserts one into the other (a search, no sort of their concatenation): its
    temporaries, with sorting the new run, stay under 2.5x the merged run's bytes (a concatenate + argsort +
    gather took 3.75x)."""
    import tracemalloc

    rng = np.random.default_rng(1)
    n = 400_000
    runs = SortedRuns(cap=10 * n)
    runs.add(rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32), np.arange(n, dtype=np.uint32))
    second = rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32)
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    runs.add(second, np.arange(n, 2 * n, dtype=np.uint32))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(runs.runs) == 1 and np.all(np.diff(runs.runs[0][0].astype(np.int64)) >= 0)
    assert peak - before < 2.5 * (2 * n * 8)


def test_equal_keys_keep_insertion_order_across_merges():
    runs = SortedRuns(cap=1000)
    for start in range(0, 400, 10):
        runs.add(np.array([7, 3] * 5, dtype=np.uint32), np.arange(start, start + 10, dtype=np.uint32))
    qi, vals = runs.lookup(np.array([3, 7], dtype=np.uint32))
    assert vals[qi == 1].tolist() == list(range(0, 400, 2)) and vals[qi == 0].tolist() == list(range(1, 400, 2))


def test_exact_index_holds_12_bytes_a_hash():
    idx = ExactIndex()
    rng = np.random.default_rng(2)
    for start in range(0, 100_000, 5_000):
        idx.check(rng.integers(0, 2**63, size=5_000, dtype=np.uint64), np.arange(start, start + 5_000))
    held = sum(k.nbytes + v.nbytes for k, v in idx._runs.runs)
    assert len(idx._runs) == 100_000 and held <= 12 * 100_000


def test_offsets_take_4_bytes_until_one_passes_4_gib():
    from pipelines.filters.dedup_state import Offsets

    offs = Offsets()
    for v in (10, 2**32 - 1):
        offs.append(v)
    assert offs.itemsize == 4 and [offs[i] for i in range(3)] == [0, 10, 2**32 - 1]
    offs.append(2**32 + 5)
    assert offs.itemsize == 8 and len(offs) == 4 and offs[-1] == 2**32 + 5 and offs[1] == 10


def test_compact_runs_hold_values_as_2_byte_offsets_and_return_them_whole():
    """Band slots are consecutive per batch: a compact run keeps them as 2-byte offsets from its smallest, so
    a band entry costs 6 bytes, not 8; runs merge only while their values still fit, and every lookup gives
    the values back as added."""
    runs = SortedRuns(compact_values=True)
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 3000, size=300_000).astype(np.uint32)
    slots = np.repeat(np.arange(100_000, 100_000 + 150_000, dtype=np.uint32), 2)  # 2 keys a slot, as bands
    for start in range(0, len(keys), 6_000):
        runs.add(keys[start : start + 6_000], slots[start : start + 6_000])
    assert len(runs) == 300_000 and all(v.dtype == np.uint16 for _, v in runs.runs) and len(runs.runs) >= 3
    assert sum(k.nbytes + v.nbytes for k, v in runs.runs) == 6 * 300_000
    q = np.array([keys[0], keys[-1], 5000], dtype=np.uint32)
    qi, vals = runs.lookup(q)
    for i, key in enumerate(q.tolist()):
        assert sorted(vals[qi == i].tolist()) == sorted(slots[keys == key].tolist())
    wide = SortedRuns(compact_values=True)  # one call spanning more than 2 bytes keeps 4-byte offsets
    wide.add(np.array([1, 2], dtype=np.uint32), np.array([5, 5 + 70_000], dtype=np.uint32))
    assert wide.lookup(np.array([2, 1], dtype=np.uint32))[1].tolist() == [5, 70_005]


def _heap_rss_kb() -> int:
    rss, heap = 0, False
    for line in open("/proc/self/smaps"):
        parts = line.split()
        if not parts[0].endswith(":"):
            heap = parts[-1] == "[heap]"
        elif parts[0] == "Rss:" and heap:
            rss += int(parts[1])
    return rss


def test_freed_batch_temporaries_go_back_to_the_os():
    """glibc keeps freed heap pages resident (a long stream's RSS ratchets up with each batch's temporaries):
    release_free_memory hands them back, so most of 80 MB freed between small survivors leaves the RSS."""
    from pipelines.filters.dedup_state import release_free_memory

    chunks = [np.ones(100_000 // 8) for _ in range(800)]  # 100 kB each: under the mmap threshold, on the heap
    survivors = chunks[::40]
    del chunks
    before = _heap_rss_kb()
    release_free_memory()
    assert before - _heap_rss_kb() > 40_000 and len(survivors) == 20
