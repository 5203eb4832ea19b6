"""Histograms for the data-quality report (PNG): judge scores, reference-encoder cosines, lengths.

Uses matplotlib's object API (`Figure`, no pyplot), so no GUI backend or global state is involved.
Each plot has a title with the row count, axis labels, a legend, and bins fixed by the value's scale,
so a dataset of a dozen rows is as readable as one of a million. A plot with no data is not written. The plots
take counts per value, not rows, so a streamed dataset's histograms are summed batch by batch.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

_WORD = re.compile(r"\S+")
POS, NEG, ANC = "#1b9e77", "#d95f02", "#7570b3"


def _figure(title: str, xlabel: str, ylabel: str = "records"):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    return fig, ax


def _lines(ax: Any, lines: Sequence[tuple[float, str, str]]) -> None:
    for (x, label, color), style in zip(lines, ("--", ":", "-.", "--")):
        ax.axvline(x, color=color, linestyle=style, linewidth=2, label=label)


def _save(fig: Any, ax: Any, path: Path) -> Path:
    ax.legend(loc="best", fontsize=9)
    ax.yaxis.get_major_locator().set_params(integer=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


Counts = dict[float, int]  # value -> rows: histograms are built batch by batch (pipelines.report.ReportStats)


def _median(counts: Counts) -> float:
    """np.median of the values the counts stand for."""
    total, seen, picks = sum(counts.values()), 0, []
    want = [(total - 1) // 2, total // 2]
    for v in sorted(counts):
        seen += counts[v]
        while want and want[0] < seen:
            picks.append(v)
            want.pop(0)
    return (picks[0] + picks[1]) / 2 if picks else 0.0


def _pair_hist(
    values: dict[str, Counts],
    bins: np.ndarray,
    title: str,
    xlabel: str,
    path: Path,
    lines: Sequence[tuple[float, str, str]] = (),
) -> Path | None:
    colors = {"positive": POS, "negative": NEG}
    total = max(sum(v.values()) for v in values.values())
    if total == 0:
        return None
    fig, ax = _figure(f"{title} (n={total})", xlabel)
    present = [(label, vals) for label, vals in values.items() if vals]
    # side-by-side bars per bin: both distributions stay visible where they overlap
    ax.hist(
        [list(v) for _, v in present],
        bins=bins,
        weights=[list(v.values()) for _, v in present],
        color=[colors[k] for k, _ in present],
        edgecolor="black",
        linewidth=0.5,
        label=[f"{k} (n={sum(v.values())})" for k, v in present],
    )
    ax.set_xlim(bins[0], bins[-1])
    _lines(ax, lines)
    return _save(fig, ax, path)


def plot_scores(vals: dict[str, Counts], path: Path, lines: Sequence[tuple[float, str, str]] = ()) -> Path | None:
    """Judge scores (0-5 scale) of positives vs negatives, all rows that have them."""
    allv = [*vals["positive"], *vals["negative"]]
    if not allv:
        return None
    lo, hi = min(0.0, math.floor(min(allv))), max(5.0, math.ceil(max(allv)))
    # 0.5-wide bins centred on whole and half scores: a judge's integers sit mid-bin
    return _pair_hist(
        vals, np.arange(lo - 0.25, hi + 0.5, 0.5), "LLM judge scores", "score given by the judge", path, lines
    )


def plot_cosines(vals: dict[str, Counts], path: Path, lines: Sequence[tuple[float, str, str]] = ()) -> Path | None:
    """Reference-encoder cos(anchor, positive) vs cos(anchor, negative)."""
    if not vals["positive"] and not vals["negative"]:
        return None
    allv = [*vals["positive"], *vals["negative"], *(x for x, _, _ in lines)]
    lo = max(-1.0, math.floor(min(allv) * 20) / 20 - 0.05)  # 0.05-wide bins aligned to 0.05, up to 1.0
    edges = np.arange(lo, 1.0001, 0.05) - 1e-9
    edges[-1] = 1.0 + 1e-6  # a cosine of exactly 1 (a copy) still lands in the last bin
    return _pair_hist(
        vals, edges, "Reference-encoder cosine to the anchor", "cosine similarity to the anchor", path, lines
    )


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def plot_lengths(series: dict[str, Counts], records: int, path: Path) -> Path | None:
    """Words per sentence for anchors, positives and negatives (all rows, kept or not)."""
    allv = [x for v in series.values() for x in v]
    if not allv:
        return None
    width = max(1, math.ceil(max(allv) / 30))
    bins = np.arange(0, max(allv) + 2 * width, width)
    fig, ax = _figure(f"Sentence lengths (n={records} records)", "words per sentence")
    for (label, vals), color in zip(series.items(), (ANC, POS, NEG)):
        if vals:
            ax.hist(
                list(vals),
                bins=bins,
                weights=list(vals.values()),
                histtype="step",
                linewidth=2,
                color=color,
                label=f"{label} (n={sum(vals.values())}, median {int(_median(vals))})",
            )
    return _save(fig, ax, path)
