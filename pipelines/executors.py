"""Where shards run. Every executor calls the same idempotent `run_shard`; scaling is a setting."""
from __future__ import annotations

from typing import Callable, Sequence

from pipelines.stage import ShardJob, ShardResult, run_shard

Runner = Callable[[ShardJob], ShardResult]


def run_local(jobs: Sequence[ShardJob], runner: Runner = run_shard,
              on_done: Callable[[ShardResult], None] | None = None) -> list[ShardResult]:
    """One shard after another in this process: the engine loads once and owns the CPU/GPU."""
    results = []
    for job in jobs:
        res = runner(job)
        results.append(res)
        if on_done:
            on_done(res)
    return results


EXECUTORS: dict[str, Callable[..., list[ShardResult]]] = {"local": run_local}
