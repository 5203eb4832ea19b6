"""Corpus streaming and text hardening: `limit` stops the read of a file far larger than a test may hold,
and text that cannot be an anchor (unpaired surrogates, NUL bytes, a CSV quote left open) is a recorded reject
with its file and line, never a crash and never a cell that swallows the rest of the file."""

from __future__ import annotations

import json
import time
import tracemalloc

from pipelines.anchors import write_corpus_rejects
from pipelines.corpus import read_corpus

GOOD = [
    "A man is playing a guitar on stage.",
    "Two dogs run through the snow.",
    "A woman reads a newspaper.",
    "The child kicks a red ball.",
]


def test_limit_reads_a_400mb_corpus_in_bounded_memory_and_time(tmp_path):
    p = tmp_path / "huge.txt"
    with open(p, "wb") as f:
        f.write(("\n".join(f"{s} Number {i}." for i in range(50) for s in GOOD[:1]) + "\n").encode())
        f.truncate(400 * 2**20)  # a sparse 400 MB tail (NUL bytes): costs no disk, only memory if read
    tracemalloc.start()
    t0 = time.perf_counter()
    c = read_corpus(str(p), limit=16)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [a.line for a in c.anchors] == list(range(1, 17))
    assert peak < 20 * 2**20, f"peak {peak / 2**20:.0f} MiB for 16 lines"
    assert seconds < 2.0


def test_unpaired_surrogate_and_nul_bytes_are_rejects_with_file_and_line(tmp_path):
    p = tmp_path / "c.jsonl"
    lines = [
        json.dumps({"text": GOOD[0]}),
        '{"text": "Smile \\ud83d please, it is a photo."}',
        json.dumps({"text": "A NUL\u0000 byte hides in this sentence."}),
        json.dumps({"text": GOOD[1]}),
    ]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    c = read_corpus(str(p))
    assert [a.text for a in c.anchors] == GOOD[:2]
    assert [(r.file, r.line, r.reason) for r in c.rejects] == [
        (str(p), 2, "unpaired_surrogate"),
        (str(p), 3, "nul_byte"),
    ]
    out = write_corpus_rejects(c, tmp_path / "anchors")  # the rejects file is valid UTF-8 JSON lines
    recorded = [json.loads(ln) for ln in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["file"], r["line"], r["reason"]) for r in recorded] == [
        (str(p), 2, "unpaired_surrogate"),
        (str(p), 3, "nul_byte"),
    ]


def test_nul_byte_in_a_txt_line_is_a_reject(tmp_path):
    p = tmp_path / "c.txt"
    p.write_bytes(GOOD[0].encode() + b"\nTwo cats\x00 sleep on a warm sofa.\n" + GOOD[1].encode() + b"\n")
    c = read_corpus(str(p))
    assert [a.line for a in c.anchors] == [1, 3] and [(r.line, r.reason) for r in c.rejects] == [(2, "nul_byte")]


def test_csv_stray_quote_is_a_malformed_row_not_the_rest_of_the_file(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(
        f'text,label\n{GOOD[0]},1\n"He said hello to the crowd,1\n{GOOD[1]},0\n{GOOD[2]},1\n{GOOD[3]},1,extra\n',
        encoding="utf-8",
    )
    c = read_corpus(str(p))
    assert [(a.line, a.text) for a in c.anchors] == [(2, GOOD[0]), (4, GOOD[1]), (5, GOOD[2])]
    assert [(r.line, r.reason) for r in c.rejects] == [(3, "malformed_row"), (6, "malformed_row")]


def test_tsv_stray_quote_is_a_malformed_row(tmp_path):
    p = tmp_path / "c.tsv"
    p.write_text(f'id\ttext\n1\t{GOOD[0]}\n2\t"Open quote never closed here\n3\t{GOOD[1]}\n', encoding="utf-8")
    c = read_corpus(str(p))
    assert [a.line for a in c.anchors] == [2, 4] and [(r.line, r.reason) for r in c.rejects] == [(3, "malformed_row")]
