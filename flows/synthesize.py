"""@flow synthesize: corpus -> anchor shards -> one task run per generation shard -> generated/."""
from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.knowledge import plan_with_graph
from flows.recipe import Recipe, recipe_toml
from pipelines.anchors import write_anchor_shards, write_corpus_rejects
from pipelines.annotate import is_annotating, plan_annotation_jobs, remove_stale
from pipelines.corpus import read_corpus
import flows.ray_executor  # noqa: F401  (registers the `ray` executor)
from pipelines.executors import EXECUTORS
from pipelines.scratch import scratch_anchor_shards
from pipelines.shards import clean_partials, write_text_atomic
from pipelines.stage import ShardJob, ShardResult, run_shard
from synth.backends.base import Sampling


def sampling_of(recipe: Recipe) -> Sampling:
    s = recipe.sampling
    return Sampling(max_tokens=s.max_tokens, temperature=s.temperature, top_p=s.top_p,
                    seed=recipe.seed if s.seed is None else s.seed)


@task(name="prepare-anchors")
def prepare_anchors(recipe: Recipe) -> list[str]:
    run = recipe.run_dir
    if recipe.scratch is not None:  # SynCSE-scratch: the LLM writes the anchors
        paths, counts = scratch_anchor_shards(recipe.scratch, recipe.generator, recipe.seed, run / "anchors")
        get_run_logger().info("scratch anchors: %s", counts)
        return [str(p) for p in paths]
    c = recipe.corpus
    corpus = read_corpus(c.path, text_field=c.text_field, min_chars=c.min_chars, max_chars=c.max_chars,
                         limit=c.limit, skip=c.skip, kind=c.kind, columns=c.columns)
    write_corpus_rejects(corpus, run / "anchors")
    get_run_logger().info("corpus %s: %s", c.path, corpus.counts())
    return [str(p) for p in write_anchor_shards(corpus.anchors, run / "anchors", c.shard_size)]


@task(name="generate-shard", task_run_name="generate-{job.task.name}-{job.index}")
def generate_shard(job: ShardJob) -> ShardResult:
    return run_shard(job)


@flow(name="synthesize")
def synthesize(recipe: Recipe) -> str:
    """Generate every missing shard of every task; finished shards are kept and skipped."""
    logger = get_run_logger()
    run = recipe.run_dir
    run.mkdir(parents=True, exist_ok=True)
    write_text_atomic(recipe_toml(recipe), run / "recipe.toml")
    removed = clean_partials(run)
    if removed:
        logger.warning("removed %d partial files left by an interrupted run", removed)
    anchor_shards = [Path(p) for p in prepare_anchors(recipe)]
    generation = [t for t in recipe.tasks if not is_annotating(t)]
    annotators = [t for t in recipe.tasks if is_annotating(t)]
    recipe_hash = recipe.section_hash("corpus", "scratch", "generator", "sampling", "tasks")
    jobs = plan_with_graph(recipe, anchor_shards, generation, recipe.generator, sampling_of(recipe), recipe.seed,
                           recipe_hash, run / "generated")
    # annotators (the judge) run after generation, on the same-index shards of the tasks they score
    later = plan_annotation_jobs(jobs, annotators, generation, anchor_shards, recipe.generator, sampling_of(recipe),
                                 recipe.seed, recipe_hash, run / "generated")
    for stale in remove_stale(later, run / "generated", annotators):
        logger.warning("removed %s: its input shards were regenerated", stale)
    pending = [j for j in jobs if not Path(j.out_path).exists()]
    later_pending = [j for j in later if not Path(j.out_path).exists()]
    jobs = jobs + later
    total = len(pending) + len(later_pending)
    logger.info("%d shards planned, %d already finished, %d to generate", len(jobs), len(jobs) - total, total)
    done = {"n": 0}

    def progress(res: ShardResult) -> None:
        done["n"] += 1
        logger.info("[%d/%d] %s: %d records, %d tokens, %.1fs", done["n"], total, Path(res.path).name,
                    res.records, res.tokens, res.seconds)

    EXECUTORS[recipe.executor.kind](pending, runner=generate_shard, on_done=progress, spec=recipe.executor)
    if later_pending:
        EXECUTORS[recipe.executor.kind](later_pending, runner=generate_shard, on_done=progress, spec=recipe.executor)
    return str(run / "generated")
