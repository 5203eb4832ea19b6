"""Where shards run. Every executor calls the same idempotent `run_shard`; scaling is a setting.

The recipe's `[executor]` table picks one by `kind`:

- `local`: one shard after another in the flow's process (the engine loads once and owns the CPU/GPU);
- `ray`: each shard is a Prefect task run on a Ray cluster through prefect-ray's `RayTaskRunner`
  (`flows/ray_executor.py`, which registers itself here: it is Prefect wiring, so it lives in flows/);
  `workers` shards are in flight at once, one model per worker process.

A crashed or retried shard is safe everywhere: `run_shard` skips a shard whose file exists and writes
atomically, so a rerun (or Ray's own task retry) redoes only the missing ones.
"""

from __future__ import annotations

from typing import Callable, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

from pipelines.stage import ShardJob, ShardResult, run_shard
from synth.registry import Registry

Runner = Callable[[ShardJob], ShardResult]
OnDone = Callable[[ShardResult], None]


class ExecutorSpec(BaseModel):
    """`[executor]` in a recipe. The Ray fields are ignored by `local`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["local", "ray"] = Field("local", description="where shards run: local | ray")
    address: str | None = Field(
        None,
        description="Ray cluster: unset starts a local one for the run; 'auto' "
        "joins this machine's cluster; 'ray://<head>:10001' a remote one",
    )
    workers: int = Field(2, ge=1, description="shards in flight at once (model replicas)")
    cpus_per_worker: float = Field(1.0, gt=0, description="Ray num_cpus per shard task")
    gpus_per_worker: float = Field(0.0, ge=0, description="Ray num_gpus per shard task (1 = one vLLM replica per GPU)")
    object_store_mb: int | None = Field(None, ge=80, description="object store size of a local Ray instance")
    max_retries: int = Field(1, ge=0, description="Ray re-runs a shard whose worker process died (safe: idempotent)")


def run_local(
    jobs: Sequence[ShardJob],
    runner: Runner = run_shard,
    on_done: OnDone | None = None,
    spec: ExecutorSpec | None = None,
) -> list[ShardResult]:
    """One shard after another in this process: the engine loads once and owns the CPU/GPU."""
    results = []
    for job in jobs:
        res = runner(job)
        results.append(res)
        if on_done:
            on_done(res)
    return results


EXECUTORS = Registry("executor", key="kind")  # settings are shared: ExecutorSpec
EXECUTORS.register("local", None, run_local)


def register_executor(kind: str, fn: Callable[..., list[ShardResult]] | str) -> None:
    EXECUTORS.register(kind, None, fn)


def run_jobs(
    jobs: Sequence[ShardJob],
    spec: ExecutorSpec | None = None,
    runner: Runner = run_shard,
    on_done: OnDone | None = None,
) -> list[ShardResult]:
    """Run the jobs with the executor the spec names."""
    spec = spec or ExecutorSpec()
    if spec.kind not in EXECUTORS:
        raise ValueError(f"executor {spec.kind!r} is not registered (import flows.ray_executor for 'ray')")
    return EXECUTORS.impl(spec.kind)(jobs, runner=runner, on_done=on_done, spec=spec)
