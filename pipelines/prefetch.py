"""Per-row filters of the next batch on a second core while this batch goes through the rest.

A filter that declares `per_row = True` decides each row from that row's texts (`TEXTS`: anchor, positive,
negative, text_b, ranked) and its settings alone (no state across rows or batches, no annotate step): the rules
filter. Only those fields travel to the worker. The leading run of such filters in a recipe's chain is
computed for batch n+1 in one worker process while the main process runs the stateful filters (dedup), the
writers and the report on batch n. The worker judges every row that passed parsing; the main process takes the
verdicts of the rows still live at that filter, so the decisions are those of the serial chain.

The worker starts at the second batch (a run of one batch never pays for a process), only with two or more cores,
and `CSYNTH_CURATE_WORKERS=0` turns it off.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Iterable, Iterator, Sequence

from pipelines.filters import Filter
from synth.records import Record

_WORKER_FILTERS: Sequence[Filter] = ()
TEXTS = ("anchor", "positive", "negative", "text_b", "ranked")


def leading_per_row(filters: Sequence[Filter]) -> list[Filter]:
    """The filters at the head of the chain whose verdicts need only the row."""
    lead = []
    for f in filters:
        if not getattr(f, "per_row", False) or getattr(f, "annotator", None) is not None:
            break
        lead.append(f)
    return lead


def wanted() -> bool:
    return (os.cpu_count() or 1) > 1 and os.environ.get("CSYNTH_CURATE_WORKERS", "1") != "0"


def _init(filters: Sequence[Filter]) -> None:
    global _WORKER_FILTERS
    _WORKER_FILTERS = filters


def _verdicts(texts: list[tuple]) -> list[list[str | None]]:
    records = [Record(task="", anchor_id="", **dict(zip(TEXTS, t))) for t in texts]
    return [list(f.verdicts(records)) for f in _WORKER_FILTERS]


class Prefetcher:
    """Submits each batch's per-row verdicts one batch ahead; `results(n)` are batch n's, one list per filter,
    in the order of the records submitted (None: computed in this process by the caller)."""

    def __init__(self, lead: Sequence[Filter]):
        self.lead = list(lead)
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, index: int, records: list[Record]) -> Future | None:
        if not self.lead or index == 0 or not wanted():
            return None
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_init, initargs=(self.lead,)
            )
        return self._pool.submit(_verdicts, [tuple(getattr(r, f) for f in TEXTS) for r in records])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def one_ahead(items: Iterable[Any]) -> Iterator[Any]:
    """Each item once the next one has been drawn (so the work drawing it submitted runs meanwhile)."""
    it = iter(items)
    try:
        current = next(it)
    except StopIteration:
        return
    for nxt in it:
        yield current
        current = nxt
    yield current
