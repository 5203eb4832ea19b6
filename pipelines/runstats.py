"""Generation cost of a run, summed from the metadata each shard carries (tokens, seconds)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pyarrow.parquet as pq


def generation_stats(paths: Sequence[Path]) -> dict[str, float]:
    """Totals over the given shards (the run plan's), each read from its own metadata."""
    shards = rows = tokens = 0
    seconds = 0.0
    for path in paths:
        if Path(path).exists():
            md = pq.read_metadata(path)
            meta = md.metadata or {}
            shards += 1
            rows += md.num_rows
            tokens += int(meta.get(b"csynth.tokens", b"0"))
            seconds += float(meta.get(b"csynth.seconds", b"0"))
    return {
        "shards": shards,
        "records": rows,
        "tokens": tokens,
        "seconds": round(seconds, 1),
        "tokens_per_second": round(tokens / seconds, 1) if seconds else 0.0,
    }
