"""Each command's log, appended to `<run dir>/run.log`: Prefect's flow and task run lines plus the project's
loggers, so a run directory explains itself after the terminal is gone."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

LOGGERS = ("prefect.flow_runs", "prefect.task_runs", "synth", "pipelines", "trainers", "flows")
FORMAT = "%(asctime)s | %(levelname)-7s | %(name)s | %(message)s"


@contextmanager
def run_log(run_dir: Path, command: str) -> Iterator[Path]:
    """Attach a file handler for the duration of one command; yields the log path."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "run.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(logging.INFO)
    loggers = [logging.getLogger(n) for n in LOGGERS]
    for lg in loggers:
        lg.addHandler(handler)
    start = datetime.now(timezone.utc).isoformat(timespec="seconds")
    # the header goes to the file whatever the `flows` logger's level (unset: WARNING, which dropped it)
    handler.handle(
        logging.LogRecord(
            "flows", logging.INFO, __file__, 0, "=== %s: synth %s", (start, " ".join([command, *sys.argv[2:]])), None
        )
    )
    try:
        yield path
    except BaseException as e:
        logging.getLogger("flows").error("synth %s failed: %s", command, e)
        raise
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
        handler.close()
