"""The run directory's guards: one writer at a time, never a directory that is not ours, and recovery of
whatever a killed command left half done.

The lock is `fcntl.flock` on `<run>/.lock`: the kernel releases it when the holder's process dies (kill -9
included), so no manual cleanup is ever needed. The file holds the holder's pid and command for the message a
second writer gets. Within one process the lock is re-entrant (a flow calling sub-flows).
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipelines.shards import clean_partials
from pipelines.swap import clean_staging

LOCK = ".lock"
MARKERS = ("plan.json", LOCK)  # a run of this project: planned, or held by one of its commands right now
LEGACY_MARKERS = ("anchors", "generated", "dataset")  # runs written before the plan existed have recipe.toml + one
PROJECT_DIRS = ("anchors", "generated", "kg", "dataset", "eval")
_held: dict[str, list[int]] = {}


class RunDirError(RuntimeError):
    """The run directory cannot be used: another writer holds it, or it is not a run of this project."""


def is_run_dir(path: Path) -> bool:
    if any((path / m).exists() for m in MARKERS):
        return True
    if (path / "dataset" / "stats.json").exists():  # a run's dataset (copied in, or written before plans)
        return True
    return (path / "recipe.toml").exists() and any((path / m).is_dir() for m in LEGACY_MARKERS)


def check_run_dir(run_dir: Path, *, allow_existing: bool = False) -> Path:
    """The resolved run dir; refuses `.`-like names' results and existing non-empty folders that are not runs."""
    resolved = Path(run_dir).resolve()
    if resolved == Path.cwd().resolve() or resolved in Path.cwd().resolve().parents or resolved == Path.home():
        raise RunDirError(
            f"run directory {resolved} is the current directory, one above it or the home "
            f"directory; set `name` or `output_dir` to a folder of its own"
        )
    if resolved.exists() and not resolved.is_dir():
        raise RunDirError(f"run directory {resolved} exists and is not a directory")
    if resolved.exists() and any(resolved.iterdir()) and not is_run_dir(resolved) and not allow_existing:
        raise RunDirError(
            f"run directory {resolved} exists, is not empty and is not a contrastive-synth run "
            f"(no plan.json); choose another output_dir, or pass --allow-existing-dir to write "
            f"into it (files the project did not write are never deleted)"
        )
    return resolved


def launcher_rank() -> int:
    """This process's rank under torchrun / accelerate launch (0 when not launched): only rank 0 guards and
    writes the run directory; the other ranks train beside it."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def held(run_dir: Path) -> bool:
    """This process holds the run directory's lock already."""
    return str(Path(run_dir).resolve()) in _held


def holder(run_dir: Path) -> dict:
    try:
        return json.loads((Path(run_dir) / LOCK).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


@contextmanager
def run_lock(run_dir: Path, command: str = "") -> Iterator[None]:
    """Hold the run directory for this process; a second process fails at once with the holder's pid."""
    run_dir = Path(run_dir)
    key = str(run_dir.resolve())
    if key in _held:
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        h = holder(run_dir)
        raise RunDirError(
            f"run directory {run_dir.resolve()} is in use by pid {h.get('pid', '?')} "
            f"({h.get('command', 'unknown command')}, since {h.get('since', '?')}); wait for it to "
            f"finish or stop it, then run again"
        ) from None
    info = {"pid": os.getpid(), "command": command or " ".join(sys.argv), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps(info).encode())
    _held[key] = [fd, 1]
    try:
        yield
    finally:
        _held[key][1] -= 1
        if _held[key][1] == 0:
            del _held[key]
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def recover(run_dir: Path) -> dict[str, int]:
    """Finish or undo what a killed command left: interrupted swaps roll forward, staging dirs and partial
    files (`.tmp-*`, ours) go. Only project folders are walked, never the whole tree."""
    run_dir = Path(run_dir)
    out = {"partial_files": 0, "staging_dirs": 0}
    for name in PROJECT_DIRS:
        out["partial_files"] += clean_partials(run_dir / name)
    for p in run_dir.glob(".tmp-*"):
        if p.is_file():
            p.unlink()
            out["partial_files"] += 1
    for name in ("dataset", "model"):
        out["staging_dirs"] += clean_staging(run_dir / name)
    return out
