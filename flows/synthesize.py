"""@flow synthesize: the run plan's stages up to generation: anchors (corpus or scratch) -> knowledge graph ->
generation tasks -> annotating tasks, each shard planned in the plan before it runs."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

import flows.ray_executor  # noqa: F401  (registers the `ray` executor)
from flows.artifacts import generation_progress
from flows.env import recipe_run_name
from flows.knowledge import extend_anchors, knowledge_graph
from flows.planning import guarded, make_plan
from flows.recipe import Recipe, recipe_toml
from pipelines.anchors import write_anchor_shards, write_corpus_rejects
from pipelines.corpus import read_corpus
from pipelines.executors import EXECUTORS
from pipelines.plan import pending_jobs, plan_task_jobs
from pipelines.runplan import RunPlan
from pipelines.scratch import scratch_anchor_shards
from pipelines.shards import set_aside_unplanned, write_text_atomic
from pipelines.stage import ShardJob, ShardResult, run_shard
from synth.backends.base import Sampling


def sampling_of(recipe: Recipe) -> Sampling:
    s = recipe.sampling
    return Sampling(
        max_tokens=s.max_tokens,
        temperature=s.temperature,
        top_p=s.top_p,
        seed=recipe.seed if s.seed is None else s.seed,
    )


@task(name="prepare-anchors")
def prepare_anchors(recipe: Recipe) -> list[str]:
    run = recipe.run_dir
    if recipe.scratch is not None:  # SynCSE-scratch: the LLM writes the anchors
        paths, counts = scratch_anchor_shards(recipe.scratch, recipe.generator, recipe.seed, run / "anchors")
        get_run_logger().info("scratch anchors: %s", counts)
        return [str(p) for p in paths]
    c = recipe.corpus
    corpus = read_corpus(
        c.path,
        text_field=c.text_field,
        min_chars=c.min_chars,
        max_chars=c.max_chars,
        limit=c.limit,
        skip=c.skip,
        kind=c.kind,
        columns=c.columns,
    )
    write_corpus_rejects(corpus, run / "anchors")
    get_run_logger().info("corpus %s: %s", c.path, corpus.counts())
    return [str(p) for p in write_anchor_shards(corpus.anchors, run / "anchors", c.shard_size)]


@task(name="generate-shard", task_run_name="generate-{job.task.name}-{job.index}")
def generate_shard(job: ShardJob) -> ShardResult:
    return run_shard(job)


def plan_generation(
    recipe: Recipe, plan: RunPlan, anchor_shards: list[Path], extras: dict[str, str]
) -> dict[str, list[ShardJob]]:
    """Every generate and annotate stage's shards, in plan order, recorded in the plan as they are keyed."""
    tasks = {t.name: t for t in recipe.tasks}
    jobs: dict[str, list[ShardJob]] = {}
    for stage in plan.of_kind("generate", "annotate"):
        spec = tasks[stage.name.split(":", 1)[1]]
        inputs = None
        if stage.kind == "annotate":  # the same-index shards of the tasks it scores
            scored = [jobs[s] for s in stage.inputs if s.startswith("generate:")]
            inputs = {i: [js[i].out_path for js in scored] for i in range(len(anchor_shards))}
        jobs[stage.name] = plan_task_jobs(
            spec,
            anchor_shards,
            recipe.generator,
            sampling_of(recipe),
            recipe.seed,
            plan.recipe_hash,
            recipe.run_dir / "generated",
            inputs=inputs,
            extras=extras if "knowledge_graph" in stage.inputs else None,
        )
        plan.resolve(stage.name, [j.out_path for j in jobs[stage.name]])
    return jobs


def set_aside_stale(plan: RunPlan) -> int:
    """Shards on disk that this plan does not list (an earlier recipe's) move to `.stale/`; a later plan that
    lists one again takes it back instead of regenerating it."""
    run = plan.run_dir
    moved = set_aside_unplanned(run / "anchors", plan.outputs("anchors"))
    planned = plan.shard_paths()
    gen = run / "generated"
    for d in sorted(p for p in gen.iterdir() if p.is_dir() and not p.name.startswith(".")) if gen.exists() else []:
        moved += set_aside_unplanned(d, [p for p in planned if p.parent == d])
    return len(moved)


@flow(name="synthesize", flow_run_name=recipe_run_name("synthesize"))
def synthesize(recipe: Recipe) -> str:
    """Plan the run, then generate every planned shard that is missing or broken; finished ones are kept."""
    with guarded(recipe, "synthesize"):
        return _synthesize(recipe)


def _synthesize(recipe: Recipe) -> str:
    logger = get_run_logger()
    run = recipe.run_dir
    plan = make_plan(recipe)
    write_text_atomic(recipe_toml(recipe), run / "recipe.toml")
    anchor_shards = [Path(p) for p in prepare_anchors(recipe)]
    plan.resolve("anchors", anchor_shards)
    extras: dict[str, str] = {}
    if plan.has("knowledge_graph"):
        extras = knowledge_graph(recipe, [str(p) for p in anchor_shards], final=not plan.has("extend"))
        if plan.has("extend"):  # GCSE extension sentences join the anchors (and the graph) before generation
            shards, extras, files = extend_anchors(recipe, [str(p) for p in anchor_shards], extras, sampling_of(recipe))
            anchor_shards = [Path(p) for p in shards]
            plan.resolve("extend", files)
        graph_files = [extras["graph_path"], extras["extractions_path"], extras.get("main_parts_path", "")]
        plan.resolve("knowledge_graph", [f for f in graph_files if f], key=extras["graph_key"])
    jobs = plan_generation(recipe, plan, anchor_shards, extras)
    stale = set_aside_stale(plan)
    if stale:
        logger.warning("%d shards of an earlier plan (a changed recipe) moved to .stale/: they are not read", stale)
    generate = [j for s in plan.of_kind("generate") for j in jobs[s.name]]
    annotate = [j for s in plan.of_kind("annotate") for j in jobs[s.name]]
    pending, later_pending = pending_jobs(generate), pending_jobs(annotate)
    total = len(pending) + len(later_pending)
    planned = len(generate) + len(annotate)
    logger.info("%d shards planned, %d already finished, %d to generate", planned, planned - total, total)
    with generation_progress(recipe.name, total) as shard_done:  # terminal bar + Prefect progress artifact

        def progress(res: ShardResult) -> None:
            p = shard_done(res.records, res.tokens)
            logger.info(
                "[%d/%d] %s: %d records, %d tokens, %.1fs; %s",
                p.done,
                total,
                Path(res.path).name,
                res.records,
                res.tokens,
                res.seconds,
                p.summary(),
            )

        run_shards = EXECUTORS.impl(recipe.executor.kind)
        run_shards(pending, runner=generate_shard, on_done=progress, spec=recipe.executor)
        if later_pending:  # annotators run after the shards they score
            run_shards(later_pending, runner=generate_shard, on_done=progress, spec=recipe.executor)
    return str(run / "generated")
