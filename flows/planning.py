"""Recipe -> run plan (pipelines.runplan decides the stages), and the guard every writing command runs under:
the run directory checked, locked for this process, and recovered from a killed earlier command."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

from flows.recipe import Recipe
from pipelines.rundir import check_run_dir, held, launcher_rank, recover, run_lock
from pipelines.runplan import PlanError, RunPlan, plan_stages

log = logging.getLogger("pipelines.runplan")
GENERATION_SECTIONS = ("corpus", "scratch", "generator", "sampling", "tasks", "knowledge_graph")


def generation_hash(recipe: Recipe) -> str:
    return recipe.section_hash(*GENERATION_SECTIONS)


def make_plan(recipe: Recipe) -> RunPlan:
    """The run's ordered stages from the recipe; written to <run>/plan.json before any work."""
    stages = plan_stages(
        recipe.tasks,
        scratch=recipe.scratch is not None,
        knowledge_graph=recipe.knowledge_graph is not None,
        train=recipe.train is not None,
        extension=bool(recipe.knowledge_graph and recipe.knowledge_graph.extension_rounds),
        evaluate=recipe.evaluate is not None,
    )
    plan = RunPlan(recipe.run_dir, stages, generation_hash(recipe))
    plan.write()
    return plan


def read_plan(recipe: Recipe) -> RunPlan:
    """The plan the last generation wrote, checked against this recipe's generation settings."""
    plan = RunPlan.read(recipe.run_dir)
    if plan.recipe_hash != generation_hash(recipe):
        raise PlanError(
            f"{recipe.run_dir / 'plan.json'}: the recipe's generation settings "
            f"({', '.join(GENERATION_SECTIONS)}) "
            f"changed since this run was planned; run `synth generate` (or `synth run`) first so the "
            f"dataset holds exactly what the recipe plans"
        )
    return plan


@contextmanager
def guarded(recipe: Recipe, command: str = "", *, allow_existing: bool = False) -> Iterator[None]:
    """Check, lock and recover the run directory around one command (re-entrant within a process)."""
    if held(recipe.run_dir) or launcher_rank() != 0:  # already guarded here, or rank 0 of a launch guards it
        yield
        return
    check_run_dir(recipe.run_dir, allow_existing=allow_existing)
    with run_lock(recipe.run_dir, command):
        fixed = recover(recipe.run_dir)
        if any(fixed.values()):
            log.warning("recovered after an interrupted run: %s", fixed)
        yield
