"""Scheduled runs: a recipe's flow as a Prefect deployment with a cron schedule, served against a server.

The deployment is the real flow (`end-to-end` or `synthesize`), not a wrapper: the validated `Recipe` is
the deployment's one parameter, stored as JSON and validated back into a `Recipe` by Prefect at every run
(it round-trips exactly; tests/flows/test_schedule.py checks it). So the recipe is frozen when it is
registered (scheduled runs are reproducible, the UI shows it and may edit it), and re-running
`synth schedule` with the same name updates it. Relative paths are made absolute at registration
because the served runs start in the serve process's directory.

A scheduled rerun is cheap when nothing changed: shards are keyed by content and skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from flows.recipe import Recipe, recipe_from_dict

Stage = Literal["all", "synthesize"]


class ScheduleError(RuntimeError):
    """Scheduling is impossible as configured (no server, server down); the message says what to do."""


def server_url() -> str:
    """The configured Prefect API. Schedules live on a server: the temporary one of a plain run dies with it."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        raise ScheduleError(
            "PREFECT_API_URL is not set: schedules need a running Prefect server.\n"
            "  prefect server start --host 127.0.0.1 --port 4200   # in another terminal\n"
            "  export PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    return str(url)


def check_server(url: str, timeout: float = 10.0) -> None:
    import httpx

    try:
        httpx.get(url.rstrip("/") + "/health", timeout=timeout).raise_for_status()
    except httpx.HTTPError as e:
        raise ScheduleError(
            f"the Prefect server at {url} does not answer ({e}); start it with "
            f"`prefect server start --host 127.0.0.1` or fix PREFECT_API_URL"
        ) from None


def frozen_parameters(recipe: Recipe) -> dict[str, Any]:
    """The recipe as the deployment's JSON parameter, with paths made absolute."""
    data = recipe.model_dump(mode="json")
    data["output_dir"] = str(recipe.run_dir.resolve())
    corpus = data.get("corpus") or {}
    path = corpus.get("path", "")
    if path and ":" not in path and Path(path).exists():
        corpus["path"] = str(Path(path).resolve())
    recipe_from_dict(data, "<deployment parameters>")  # still a valid recipe
    return {"recipe": data}


def build_deployment(
    recipe: Recipe, cron: str, stage: Stage = "all", name: str | None = None, timezone: str | None = None
):
    """A `RunnerDeployment` of the stage's flow on a cron schedule; one run at a time per deployment."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from flows.end_to_end import end_to_end
    from flows.synthesize import synthesize

    flow = {"all": end_to_end, "synthesize": synthesize}[stage]
    return flow.to_deployment(
        name=name or recipe.name,
        schedules=[Cron(cron, timezone=timezone)],
        parameters=frozen_parameters(recipe),
        description=f"contrastive-synth recipe {recipe.name!r}, stage {stage}",
        tags=["contrastive-synth", stage],
        concurrency_limit=1,  # a slow run is not overlapped by the next tick on the same run dir
        entrypoint_type=EntrypointType.MODULE_PATH,  # loads from the installed package, whatever the cwd
    )


def serve_deployment(deployment: Any) -> None:
    """Register the deployment and run its scheduled (and manually triggered) runs until interrupted."""
    from prefect import serve

    serve(deployment, print_starting_message=True)
