"""Plan the generation stage: one ShardJob per (task, anchor shard), keyed by everything that decides
its content, so reruns skip finished shards and a changed recipe never reuses stale ones."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from pipelines.anchors import read_anchor_shard
from pipelines.shards import shard_key, shard_path
from pipelines.stage import ShardJob
from synth.backends import BackendSpec
from synth.backends.base import Sampling
from synth.embedded import model_hash
from synth.tasks import TaskSpec


def plan_jobs(anchor_shards: Sequence[Path], tasks: Sequence[TaskSpec], backend: BackendSpec, sampling: Sampling,
              seed: int, recipe_hash: str, generated_dir: Path,
              extras: dict[str, str] | None = None) -> list[ShardJob]:
    """`extras` (e.g. the knowledge graph's path and key) reach the tasks as `TaskContext.extras`; all but the
    `*_path` entries (where the run dir lives) are part of the shard key, so a changed graph regenerates."""
    jobs = []
    keyed = sorted((k, v) for k, v in (extras or {}).items() if not k.endswith("_path"))
    mhash = model_hash(backend.model)
    for task in tasks:
        for i, path in enumerate(anchor_shards):
            anchors = tuple(read_anchor_shard(path))
            key = shard_key(task.model_dump(mode="json"), backend.model_dump(mode="json"), sampling.__dict__, seed,
                            [a.id for a in anchors], mhash, *([keyed] if keyed else []))
            out = shard_path(generated_dir / task.name, i, key)
            jobs.append(ShardJob(index=i, out_path=str(out), task=task, backend=backend, sampling=sampling,
                                 seed=seed, recipe_hash=recipe_hash, anchors=anchors, extras=dict(extras or {})))
    return jobs
