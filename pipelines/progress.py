"""Progress a person can watch: generation across all shards of a run, and encoding in filters and evaluation.

Bars are drawn with rich on the terminal only (stderr); on a pipe, a file or under a scheduler they are silent,
and the log lines stay the record. The generation numbers (`GenerationProgress`) are plain data, so the same
figures feed the bar, the log and the Prefect progress artifact (`flows/progress.py`).
"""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

ENCODE_CHUNK_BATCHES = 8  # batches per encode call when a bar is shown (one call otherwise)


def progress_console() -> Console:
    """Where bars go: stderr, so stdout stays the command's answer; `is_terminal` decides whether they show."""
    return Console(stderr=True)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


@dataclass
class GenerationProgress:
    """Shards done of the shards this command runs, with records and tokens so far; rate and ETA from the wall
    time since the first shard started (shards already finished on disk are not counted: they cost nothing)."""

    total: int
    done: int = 0
    records: int = 0
    tokens: int = 0
    started: float = field(default_factory=time.perf_counter)
    now: Callable[[], float] = field(default=time.perf_counter, repr=False)

    def add(self, records: int, tokens: int) -> None:
        self.done += 1
        self.records += records
        self.tokens += tokens

    @property
    def elapsed(self) -> float:
        return max(self.now() - self.started, 1e-9)

    @property
    def percent(self) -> float:
        return 100.0 if self.total == 0 else round(100.0 * self.done / self.total, 2)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.elapsed

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace so far; None before the first shard finished."""
        if self.done == 0:
            return None
        return self.elapsed / self.done * (self.total - self.done)

    def summary(self) -> str:
        """`3/4 shards, 12 records, 45.2 tokens/s, ETA 0:00:10` (the artifact's description and the bar's text)."""
        return (
            f"{self.done}/{self.total} shards, {self.records} records, {self.tokens_per_s:.1f} tokens/s, "
            f"ETA {_clock(self.eta_s if self.done < self.total else 0.0)}"
        )


def _bar(console: Console, unit: str) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TextColumn("{task.fields[extra]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=False,
    )


@contextmanager
def logs_above(bar: Progress) -> Iterator[None]:
    """Log lines print above a live bar instead of through it. rich redirects `sys.stderr` while the bar is live;
    a `StreamHandler` that took the stream earlier is pointed at that redirect, and a handler that prints through
    its own rich console (Prefect's console handler; rich bypasses the redirect) prints through the bar's console;
    both are restored after."""
    proxy = sys.stderr
    target = getattr(proxy, "rich_proxied_file", None)
    if bar.disable or target is None:
        yield
        return
    loggers = [
        logging.getLogger(),
        *(v for v in logging.root.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    swapped: list[tuple[logging.StreamHandler, Any]] = []
    for lg in loggers:
        for h in lg.handlers:
            if isinstance(h, logging.StreamHandler) and h.stream is target and all(h is not s for s, _ in swapped):
                swapped.append((h, getattr(h, "console", None)))
                h.stream = proxy
                if isinstance(swapped[-1][1], Console):
                    h.console = bar.console  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for h, console in swapped:
            h.stream = target
            if isinstance(console, Console):
                h.console = console  # type: ignore[attr-defined]


@contextmanager
def generation_bar(
    progress: GenerationProgress, label: str = "generate", console: Console | None = None
) -> Iterator[Callable[[], None]]:
    """A bar over all shards of the run; yields `refresh()`, to call after `progress.add(...)`."""
    console = console or progress_console()
    with _bar(console, "shards") as bar, logs_above(bar):
        task = bar.add_task(label, total=progress.total, extra="")

        def refresh() -> None:
            bar.update(
                task,
                completed=progress.done,
                extra=(
                    f"{progress.records} records, {progress.tokens_per_s:.1f} tokens/s, "
                    f"ETA {_clock(progress.eta_s if progress.done < progress.total else 0.0)}"
                ),
            )

        refresh()
        yield refresh


def encode(
    model: Any, texts: Sequence[str], *, label: str, batch_size: int = 32, console: Console | None = None, **kwargs: Any
) -> Any:
    """`model.encode(texts, ...)` with a rich bar (texts encoded / total) on a terminal; one plain call, no bar,
    anywhere else. The embeddings are the same either way (each text is encoded on its own row)."""
    import numpy as np

    console = console or progress_console()
    kwargs = {"convert_to_numpy": True, **kwargs, "batch_size": batch_size, "show_progress_bar": False}
    if not console.is_terminal or len(texts) <= batch_size:
        return model.encode(list(texts), **kwargs)
    step = batch_size * ENCODE_CHUNK_BATCHES
    parts = []
    with _bar(console, "texts") as bar:
        task = bar.add_task(label, total=len(texts), extra="")
        for i in range(0, len(texts), step):
            parts.append(model.encode(list(texts[i : i + step]), **kwargs))
            bar.update(task, advance=len(parts[-1]))
    return np.concatenate(parts)
