"""Prefect settings for runs without a server: call before importing prefect.

A user's own Prefect configuration wins: anything set in the environment or in the active profile of their
`profiles.toml` (`prefect config set`, `prefect cloud login`) is left alone; only what is unset gets a default.
"""

from __future__ import annotations

import logging
import os
import tomllib
from pathlib import Path
from typing import Any, Callable

PROJECT_LOGGERS = ("synth", "pipelines", "trainers")
DEFAULTS = {  # applied only where neither the environment nor the user's active profile sets them
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_LOGGING_EXTRA_LOGGERS": ",".join(PROJECT_LOGGERS),
}


def user_profile_settings(home: Path | None = None) -> dict[str, str]:
    """Settings of the active profile in the user's Prefect home (PREFECT_HOME or ~/.prefect); {} when none."""
    home = home or Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect")
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    active = os.environ.get("PREFECT_PROFILE") or data.get("active") or "ephemeral"
    return {k: str(v) for k, v in (data.get("profiles") or {}).get(active, {}).items()}


def configure_threads() -> None:
    """Torch's OpenMP threads sleep when they wait (call before torch loads; a user's OMP_WAIT_POLICY wins).

    libgomp's default spin-wait lets waiting threads hold the cores: beside any other busy process (a second run,
    a test worker, a Prefect server) CPU generation ran 6-20x slower (bench/threads.py, docs/benchmarks.md).
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def configure_prefect(home: str | Path | None = None) -> None:
    """Ephemeral API with its state under the data dir, unless the user configured Prefect already.

    Flows do not use `log_prints`: it patches `print`, which breaks libraries that capture their own
    output (dill's disassembly inside `datasets` fingerprinting ends up in the run log).
    """
    profile = user_profile_settings()
    configured = "PREFECT_HOME" in os.environ or "PREFECT_API_URL" in os.environ or bool(profile)
    if not configured:  # no Prefect setup of the user's: keep the ephemeral server's state beside the data
        prefect_home = Path(home or "data/.prefect").resolve()
        os.environ["PREFECT_HOME"] = str(prefect_home)
        os.environ.setdefault("PREFECT_MEMO_STORE_PATH", str(prefect_home / "memo_store.toml"))
        prefect_home.mkdir(parents=True, exist_ok=True)
    for key, value in DEFAULTS.items():
        if key not in os.environ and key not in profile:
            os.environ[key] = value
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    for name in PROJECT_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


def flow_run_name(recipe_name: str, stage: str) -> str:
    """Flow runs are named after the recipe (`quickstart-curate`), not Prefect's random two words."""
    return f"{recipe_name}-{stage}"


def recipe_run_name(stage: str) -> Callable[[], str]:
    """A flow's `flow_run_name`: `<recipe>-<stage>` for every run of it, subflows of `synth run` and deployment
    runs included (the recipe parameter is a Recipe, or its dict form when a deployment passes it)."""

    def name() -> str:
        from prefect.runtime import flow_run

        recipe: Any = flow_run.parameters.get("recipe")
        recipe_name = recipe.get("name") if isinstance(recipe, dict) else getattr(recipe, "name", None)
        return flow_run_name(str(recipe_name), stage) if recipe_name else stage

    return name
