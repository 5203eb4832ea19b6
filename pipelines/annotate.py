"""Plan annotating tasks (the judge): they run after generation, one shard per anchor-shard index, reading
the same-index shards of the tasks they score and writing rows with the same ids, which curate merges
over the originals (later directories win, so annotators are listed last)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from pipelines.anchors import read_anchor_shard
from pipelines.shards import shard_key, shard_path
from pipelines.stage import ShardJob
from synth.backends import BackendSpec
from synth.backends.base import Sampling
from synth.embedded import model_hash
from synth.tasks import TASKS, TaskSpec


def is_annotating(spec: TaskSpec) -> bool:
    """A task that scores other tasks' records (it implements `annotate`)."""
    return hasattr(TASKS[spec.name][1], "annotate")


def ordered_task_names(tasks: Sequence[TaskSpec]) -> list[str]:
    """Generated-directory order for merging: generation tasks first, annotators after the tasks they score."""
    return [t.name for t in tasks if not is_annotating(t)] + [t.name for t in tasks if is_annotating(t)]


def scored_tasks(spec: TaskSpec, generation: Sequence[TaskSpec]) -> list[str]:
    names = [t.name for t in generation]
    wanted = getattr(spec, "score_tasks", None)
    if wanted is None:
        return names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise ValueError(f"[[tasks]] {spec.name}.score_tasks names {unknown}, which the recipe does not generate; "
                         f"generation tasks: {names}")
    return list(wanted)


def plan_annotation_jobs(gen_jobs: Sequence[ShardJob], annotators: Sequence[TaskSpec], generation: Sequence[TaskSpec],
                         anchor_shards: Sequence[Path], backend: BackendSpec, sampling: Sampling, seed: int,
                         recipe_hash: str, generated_dir: Path) -> list[ShardJob]:
    """One job per (annotator, anchor shard). Its key covers the input shards' names (each carries its own
    content key), so a regenerated input invalidates the annotation; with no input tasks it runs on anchors."""
    jobs = []
    for spec in annotators:
        inputs = scored_tasks(spec, generation)
        judge_backend = getattr(spec, "backend", None) or backend
        mhash = model_hash(judge_backend.model)
        for i, path in enumerate(anchor_shards):
            anchors = tuple(read_anchor_shard(path))
            in_paths = tuple(sorted(j.out_path for j in gen_jobs if j.index == i and j.task.name in inputs))
            key = shard_key(spec.model_dump(mode="json"), judge_backend.model_dump(mode="json"), sampling.__dict__,
                            seed, [a.id for a in anchors], [Path(p).name for p in in_paths], mhash)
            # the job's backend is the judge's own: random pairs carry its provenance, the generator is not loaded
            jobs.append(ShardJob(index=i, out_path=str(shard_path(generated_dir / spec.name, i, key)), task=spec,
                                 backend=judge_backend, sampling=sampling, seed=seed, recipe_hash=recipe_hash,
                                 anchors=anchors, input_paths=in_paths))
    return jobs


def remove_stale(jobs: Sequence[ShardJob], generated_dir: Path, annotators: Sequence[TaskSpec]) -> list[Path]:
    """Annotation shards the plan no longer contains (their inputs were regenerated): their rows carry the old
    texts under the same record ids and would win the merge, so they go, as stale anchor shards do."""
    planned = {Path(j.out_path) for j in jobs}
    removed = []
    for spec in annotators:
        for p in sorted((generated_dir / spec.name).glob("shard-*.parquet")):
            if p not in planned:
                p.unlink()
                removed.append(p)
    return removed
