"""`run_shard`: the one unit of work every executor runs. Idempotent: a finished shard is skipped.

It builds (or reuses) the backend, runs the task over the shard's anchors (or, for annotating tasks
such as the judge, over the records of earlier shards), and writes rows atomically.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipelines.schema import SHARD_COLUMNS, record_to_row, row_to_record, rows_to_table
from pipelines.shards import set_aside, shard_problem, write_table_atomic
from synth.backends import BackendSpec, get_backend
from synth.backends.base import Sampling
from synth.records import Anchor
from synth.tasks import TaskContext, TaskSpec, build_task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShardJob:
    """Everything one shard needs; plain picklable values so it can run in another process or on Ray."""

    index: int
    out_path: str
    task: TaskSpec
    backend: BackendSpec
    sampling: Sampling
    seed: int
    recipe_hash: str
    anchors: tuple[Anchor, ...] = ()
    input_paths: tuple[str, ...] = ()  # record shards an annotating task reads instead of anchors
    extras: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass
class ShardResult:
    path: str
    records: int = 0
    parse_rejects: int = 0
    tokens: int = 0
    seconds: float = 0.0
    skipped: bool = False


def run_shard(job: ShardJob) -> ShardResult:
    out = Path(job.out_path)
    if out.exists():
        problem = shard_problem(out, SHARD_COLUMNS)
        if problem is None:
            return ShardResult(path=str(out), records=pq.read_metadata(out).num_rows, skipped=True)
        log.warning("shard %s is broken (%s): moved to %s, regenerating", out, problem, set_aside(out, "broken"))
    t0 = time.perf_counter()
    # a pass-through task (existing data) writes no text: its shard never loads the generator
    backend = get_backend(job.backend) if job.task.uses_llm else None
    task = build_task(job.task)
    ctx = TaskContext(
        seed=job.seed,
        sampling=job.sampling,
        shard=out.name.split("-")[1] if "-" in out.name else "",
        backend_for=get_backend,
        extras=dict(job.extras),
    )
    tokens_before = getattr(backend, "tokens_generated", 0)
    generated_by: dict[str, dict[str, Any]] = {}  # annotated rows keep the provenance of their generation
    if job.input_paths and "records" in job.task.consumes:
        rows = [r for p in job.input_paths for r in pq.read_table(p).to_pylist()]
        generated_by = {r["id"]: r["provenance"] for r in rows}
        records = task.annotate([row_to_record(r) for r in rows if r.get("kept", True)], backend, ctx)
    else:
        records = task.run(list(job.anchors), backend, ctx)
    if backend is None:  # the rows' own source lines are in prompt_ids (`given:<path>:<line>`)
        provenance = {"backend": "given", "shard": out.name, "recipe_hash": job.recipe_hash}
    else:
        provenance = {
            "backend": backend.name,
            "model": backend.model_id,
            "model_hash": backend.model_hash,
            "temperature": job.sampling.temperature,
            "top_p": job.sampling.top_p,
            "max_tokens": job.task.max_tokens or job.sampling.max_tokens,
            "shard": out.name,
            "recipe_hash": job.recipe_hash,
        }
    rows = [record_to_row(r, generated_by.get(r.id) or provenance) for r in records]
    res = ShardResult(
        path=str(out),
        records=len(rows),
        parse_rejects=sum(1 for r in rows if not r["kept"]),
        tokens=getattr(backend, "tokens_generated", 0) - tokens_before,
        seconds=time.perf_counter() - t0,
    )
    table = rows_to_table(rows)
    # generation cost travels inside the shard's own metadata: written atomically with it, summed by reports
    meta = dict(table.schema.metadata or {})
    meta.update({b"csynth.tokens": str(res.tokens).encode(), b"csynth.seconds": f"{res.seconds:.3f}".encode()})
    write_table_atomic(table.replace_schema_metadata(meta), out)
    log.info(
        "shard %s: %d records (%d unparsable), %d tokens in %.1fs",
        out.name,
        res.records,
        res.parse_rejects,
        res.tokens,
        res.seconds,
    )
    return res
