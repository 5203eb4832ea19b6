"""The anchors stage: corpus -> anchor shards on disk (plus the corpus rejects), so every later stage
works from files and a rerun sees exactly the same shards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.corpus import Corpus
from pipelines.shards import (
    restore_stale,
    set_aside,
    shard_key,
    shard_path,
    shard_problem,
    split,
    write_table_atomic,
    write_text_atomic,
)
from synth.records import Anchor

ANCHOR_SCHEMA = pa.schema(
    [
        ("anchor_id", pa.string()),
        ("text", pa.string()),
        ("source", pa.string()),
        ("line", pa.int64()),
        ("given", pa.string()),
    ]
)


def anchor_content(anchors: Sequence[Anchor]) -> list:
    """What a shard key covers of its anchors: their ids, plus the given rows of existing pairs (so an edited
    pair file writes new shards and new records); the same list as the ids alone for plain text."""
    return [a.id for a in anchors] + [[a.id, a.given] for a in anchors if a.given]


def write_anchor_shards(anchors: list[Anchor], directory: Path, shard_size: int) -> list[Path]:
    """Split anchors into shards named by their content; existing identical shards are reused."""
    paths = []
    for i, chunk in enumerate(split(anchors, shard_size)):
        path = shard_path(directory, i, shard_key(anchor_content(chunk)))
        restore_stale(path)
        if path.exists() and shard_problem(path, ANCHOR_SCHEMA.names):
            set_aside(path, "broken")  # unreadable: written again below
        if not path.exists():
            table = pa.Table.from_pylist(
                [
                    {"anchor_id": a.id, "text": a.text, "source": a.source, "line": a.line, "given": a.given}
                    for a in chunk
                ],
                schema=ANCHOR_SCHEMA,
            )
            write_table_atomic(table, path)
        paths.append(path)
    return paths  # shards of an earlier corpus/limit are set aside by the run plan, not read


def write_corpus_rejects(corpus: Corpus, directory: Path) -> Path:
    lines = [
        json.dumps({"file": r.file, "line": r.line, "reason": r.reason, "preview": r.preview}, ensure_ascii=False)
        for r in corpus.rejects
    ]
    return write_text_atomic("\n".join(lines) + ("\n" if lines else ""), directory / "corpus_rejects.jsonl")


def read_anchor_shard(path: Path) -> list[Anchor]:
    return [
        Anchor(text=r["text"], source=r["source"], line=r["line"], given=r.get("given") or "")
        for r in pq.read_table(path).to_pylist()
    ]
