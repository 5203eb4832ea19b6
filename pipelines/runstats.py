"""Generation cost of a run, summed from the metadata each shard carries (tokens, seconds)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pyarrow.parquet as pq

from pipelines.shards import finished_shards


def generation_stats(directories: Sequence[Path]) -> dict[str, float]:
    shards = rows = tokens = 0
    seconds = 0.0
    for d in directories:
        for path in finished_shards(Path(d)):
            md = pq.read_metadata(path)
            meta = md.metadata or {}
            shards += 1
            rows += md.num_rows
            tokens += int(meta.get(b"csynth.tokens", b"0"))
            seconds += float(meta.get(b"csynth.seconds", b"0"))
    return {"shards": shards, "records": rows, "tokens": tokens, "seconds": round(seconds, 1),
            "tokens_per_second": round(tokens / seconds, 1) if seconds else 0.0}
