"""Prefect settings for runs without a server: call before importing prefect."""
from __future__ import annotations

import logging
import os
from pathlib import Path

PROJECT_LOGGERS = ("synth", "pipelines", "trainers")


def configure_prefect(home: str | Path | None = None) -> None:
    """Ephemeral API with its state under the data dir (unless the user configured Prefect already).

    Flows do not use `log_prints`: it patches `print`, which breaks libraries that capture their own
    output (dill's disassembly inside `datasets` fingerprinting ends up in the run log).
    """
    prefect_home = Path(os.environ.get("PREFECT_HOME") or Path(home or "data/.prefect").resolve())
    os.environ["PREFECT_HOME"] = str(prefect_home)
    os.environ.setdefault("PREFECT_MEMO_STORE_PATH", str(prefect_home / "memo_store.toml"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", ",".join(PROJECT_LOGGERS))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    prefect_home.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
