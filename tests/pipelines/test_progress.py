"""Issue 17: progress bars for generation (all shards) and for encoding in filters and evaluation; drawn on a
terminal, silent anywhere else."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

import pipelines.progress as progress
from pipelines.progress import GenerationProgress, encode, generation_bar

TEXTS = [f"A man number {i} walks his dog." for i in range(12)]


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=160, color_system=None), out


def pipe() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=160), out  # a StringIO is no terminal: what a pipe or a log file is


def clock(times: list[float]):
    return lambda: times[0]


def test_generation_numbers_rate_and_eta():
    t = [0.0]
    p = GenerationProgress(total=4, started=0.0, now=clock(t))
    assert p.eta_s is None and p.percent == 0.0
    t[0] = 10.0
    p.add(records=3, tokens=60)
    p.add(records=2, tokens=40)
    assert (p.done, p.records, p.tokens, p.percent) == (2, 5, 100, 50.0)
    assert p.tokens_per_s == pytest.approx(10.0) and p.eta_s == pytest.approx(10.0)
    assert p.summary() == "2/4 shards, 5 records, 10.0 tokens/s, ETA 0:00:10"


def test_generation_bar_renders_on_a_terminal():
    console, out = terminal()
    t = [0.0]
    p = GenerationProgress(total=4, started=0.0, now=clock(t))
    with generation_bar(p, label="generate quickstart", console=console) as refresh:
        t[0] = 4.0
        p.add(records=7, tokens=80)
        refresh()
    text = out.getvalue()
    assert "generate quickstart" in text and "1/4" in text and "shards" in text
    assert "7 records" in text and "20.0 tokens/s" in text and "ETA 0:00:12" in text


def test_generation_bar_is_silent_off_a_terminal():
    console, out = pipe()
    p = GenerationProgress(total=2)
    with generation_bar(p, console=console) as refresh:
        p.add(records=1, tokens=5)
        refresh()
    assert out.getvalue() == ""


def test_encode_bar_on_a_terminal_same_embeddings_as_one_call(minilm, monkeypatch):
    monkeypatch.setattr(progress, "ENCODE_CHUNK_BATCHES", 1)  # three encode calls of one batch each
    console, out = terminal()
    emb = encode(minilm, TEXTS, label="encode test", batch_size=4, console=console, normalize_embeddings=True)
    assert "encode test" in out.getvalue() and "12/12" in out.getvalue() and "texts" in out.getvalue()
    plain = minilm.encode(TEXTS, batch_size=4, normalize_embeddings=True, convert_to_numpy=True)
    assert emb.shape == plain.shape and np.allclose(emb, plain, atol=1e-5)


def test_encode_is_silent_off_a_terminal(minilm):
    console, out = pipe()
    emb = encode(minilm, TEXTS, label="encode test", batch_size=4, console=console, normalize_embeddings=True)
    assert out.getvalue() == "" and emb.shape == (12, 384)


def test_evaluation_and_consistency_filter_encode_with_a_bar(minilm, monkeypatch):
    """The evaluator's and the consistency filter's encoding go through the bar (on a terminal)."""
    from pipelines.filters.base import empty_columns
    from pipelines.filters.consistency import ConsistencyFilter, ConsistencySpec
    from synth.records import Record
    from trainers.evaluate import spearman_cosine
    from trainers.sts_data import Pair

    console, out = terminal()
    monkeypatch.setattr(progress, "progress_console", lambda: console)
    pairs = [Pair(s1=TEXTS[i], s2=TEXTS[i + 1], score=float(i % 5)) for i in range(0, 6)]
    spearman_cosine(minilm, pairs, batch_size=4)
    assert "evaluate: sentence 1" in out.getvalue() and "6/6" in out.getvalue()
    records = [
        Record(task="pairs", anchor_id=f"a{i}", anchor=TEXTS[i], positive=TEXTS[i + 1], negative=TEXTS[i + 2])
        for i in range(0, 9, 3)
    ]
    f = ConsistencyFilter(ConsistencySpec(batch_size=4), encoder=minilm)
    columns = empty_columns(len(records))
    f.annotator.annotate(records, columns)
    assert "consistency filter: encode" in out.getvalue()
    assert all(c is not None for c in columns["cos_pos"])


def test_log_lines_print_above_the_bar_not_through_it():
    """A handler that took stderr before the bar started (Prefect's console handler does) prints through rich's
    redirect while the bar is live, so the line lands above the bar; it gets its stream back afterwards."""
    import logging
    import sys

    from prefect.logging.handlers import PrefectConsoleHandler

    console, out = terminal()
    plain, prefect = logging.StreamHandler(sys.stderr), PrefectConsoleHandler(stream=sys.stderr)
    before = (plain.stream, prefect.stream, prefect.console)
    logger = logging.getLogger("synth.test_progress")
    logger.addHandler(plain)
    logger.addHandler(prefect)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # once a flow ran in this process, Prefect's own handler sits on "synth" as well
    try:
        with generation_bar(GenerationProgress(total=2), console=console):
            logger.info("shard-00000 finished")
    finally:
        logger.removeHandler(plain)
        logger.removeHandler(prefect)
        logger.propagate = True
    assert out.getvalue().count("shard-00000 finished") == 2  # both handlers' lines, above the bar
    assert (plain.stream, prefect.stream, prefect.console) == before
