"""Plan the shards of a generation or annotating task: one ShardJob per (task, anchor shard), each keyed by
everything that decides its content, so a rerun skips exactly the finished shards and any change regenerates.

The key covers the task's settings and the *contents* of the prompt and exemplar files they name, the parser
and record-schema versions, the backend's settings and the model's content hash (local) or name and revision
(served), the sampling settings and seed, the anchor ids, the inputs' shard names (annotators) and the
knowledge graph's key. Generation and annotation share this one function: an annotator's inputs are the
same-index shards of the tasks it scores.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from pipelines.anchors import anchor_content, read_anchor_shard
from pipelines.schema import SHARD_COLUMNS, SHARD_LAYOUT_VERSION
from pipelines.shards import restore_stale, set_aside, shard_key, shard_path, shard_problem
from pipelines.stage import ShardJob
from synth.backends import BackendSpec
from synth.backends.base import Sampling
from synth.embedded import model_hash
from synth.parsing import PARSER_VERSION
from synth.prompting import prompt_file_digests
from synth.tasks import TaskSpec

log = logging.getLogger(__name__)


def task_backend(task: TaskSpec, default: BackendSpec) -> BackendSpec:
    """A task may bring its own backend (the judge's model); otherwise the recipe's generator."""
    return getattr(task, "backend", None) or default


def plan_task_jobs(
    task: TaskSpec,
    anchor_shards: Sequence[Path],
    backend: BackendSpec,
    sampling: Sampling,
    seed: int,
    recipe_hash: str,
    generated_dir: Path,
    *,
    extras: dict[str, str] | None = None,
    inputs: dict[int, Sequence[str]] | None = None,
) -> list[ShardJob]:
    """`extras` (the knowledge graph's path and key) reach the task as `TaskContext.extras`; all but the
    `*_path` entries are part of the key. `inputs` maps an anchor-shard index to the record shards an
    annotating task reads there (their names carry their own keys, so a regenerated input re-annotates)."""
    backend = task_backend(task, backend)
    spec = task.model_dump(mode="json")
    fixed = [spec, prompt_file_digests(spec), PARSER_VERSION, SHARD_LAYOUT_VERSION]
    if task.uses_llm:  # a pass-through task's rows do not depend on the model or its sampling
        fixed[2:2] = [backend.model_dump(mode="json"), model_hash(backend.model), sampling.__dict__, seed]
    keyed = sorted((k, v) for k, v in (extras or {}).items() if not k.endswith("_path"))
    jobs = []
    for i, path in enumerate(anchor_shards):
        anchors = tuple(read_anchor_shard(path))
        in_paths = tuple(sorted((inputs or {}).get(i, ())))
        parts = [*fixed, anchor_content(anchors)]
        if inputs is not None:
            parts.append([Path(p).name for p in in_paths])
        if keyed:
            parts.append(keyed)
        out = shard_path(generated_dir / task.name, i, shard_key(*parts))
        jobs.append(
            ShardJob(
                index=i,
                out_path=str(out),
                task=task,
                backend=backend,
                sampling=sampling,
                seed=seed,
                recipe_hash=recipe_hash,
                anchors=anchors,
                input_paths=in_paths,
                extras=dict(extras or {}),
            )
        )
    return jobs


def pending_jobs(jobs: Sequence[ShardJob]) -> list[ShardJob]:
    """Jobs whose shard is not on disk as a whole file: a shard an earlier plan set aside comes back; a shard
    that cannot be read (zero bytes, truncated footer, wrong schema) is moved to `.broken/` and regenerated."""
    out = []
    for job in jobs:
        path = Path(job.out_path)
        if restore_stale(path):
            log.info("shard %s: reused from .stale/ (an earlier plan had it)", path.name)
        if path.exists():
            problem = shard_problem(path, SHARD_COLUMNS)
            if problem is None:
                continue
            moved = set_aside(path, "broken")
            log.warning("shard %s is broken (%s): moved to %s, regenerating", path, problem, moved)
        out.append(job)
    return out
