"""The data-quality report: per-stage table, rejects by reason, histograms and sample rejects.

Written beside the dataset as `report.md` + `plots/*.png`; the same table rows feed the dataset card,
`synth inspect` and the Prefect table artifact, so every view of a dataset tells the same numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from pipelines.curate import StageStats, reason_class
from pipelines.plots import NEG, POS, plot_cosines, plot_lengths, plot_scores, word_count
from pipelines.shards import write_text_atomic

TABLE_COLUMNS = ("stage", "in", "kept", "rejected", "kept %", "rows/s", "reasons")
SAMPLES_PER_REASON = 5


@dataclass
class Report:
    markdown: str
    table: list[dict[str, Any]]
    plots: dict[str, str] = field(default_factory=dict)  # name -> path relative to the dataset dir


def filter_table_rows(stats: Sequence[StageStats | dict]) -> list[dict[str, Any]]:
    """One dict per stage (StageStats or its stats.json form) with TABLE_COLUMNS as keys."""
    out = []
    for s in stats:
        d = asdict(s) if isinstance(s, StageStats) else s
        n_in, n_out, sec = d["rows_in"], d["rows_out"], d.get("seconds") or 0.0
        out.append(
            {
                "stage": d["stage"],
                "in": n_in,
                "kept": n_out,
                "rejected": n_in - n_out,
                "kept %": f"{100 * n_out / n_in:.1f}" if n_in else "-",
                "rows/s": f"{n_in / sec:,.0f}" if sec > 0 and n_in else "-",
                "reasons": ", ".join(f"{k} {v}" for k, v in d["reasons"].items()) or "-",
            }
        )
    return out


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def filter_table_markdown(stats: Sequence[StageStats | dict]) -> str:
    return markdown_table(filter_table_rows(stats), TABLE_COLUMNS)


def _cell(value: Any, limit: int = 140) -> str:
    if value is None:
        return "–"
    text = " / ".join(value) if isinstance(value, list) else str(value)
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


SAMPLE_FIELDS = ("id", "anchor", "positive", "negative", "reason")


@dataclass
class ReportStats:
    """What the report needs, summed batch by batch (`add`), so a streamed dataset never holds its rows: counts,
    the first rejects of each reason, and histograms as counts per value (judge scores at 1e-3, cosines at
    1e-4: bounded whatever the rows; word counts exactly)."""

    rows: int = 0
    kept: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[dict]] = field(default_factory=dict)
    scores: dict[str, dict[float, int]] = field(default_factory=lambda: {"positive": {}, "negative": {}})
    cosines: dict[str, dict[float, int]] = field(default_factory=lambda: {"positive": {}, "negative": {}})
    lengths: dict[str, dict[float, int]] = field(default_factory=lambda: {"anchor": {}, "positive": {}, "negative": {}})

    @classmethod
    def of(cls, rows: Sequence[dict]) -> "ReportStats":
        out = cls()
        out.add(rows)
        return out

    def add(self, rows: Sequence[dict]) -> None:
        for r in rows:
            self.rows += 1
            self.kept += bool(r["kept"])
            if not r["kept"]:
                c = reason_class(r["reason"])
                self.reasons[c] = self.reasons.get(c, 0) + 1
                bucket = self.samples.setdefault(c, [])
                if len(bucket) < SAMPLES_PER_REASON:
                    bucket.append({k: r.get(k) for k in SAMPLE_FIELDS})
            for side in ("positive", "negative"):
                if r.get(f"{side}_score") is not None:
                    _bump(self.scores[side], round(r[f"{side}_score"], 3))
            for col, side in (("cos_pos", "positive"), ("cos_neg", "negative")):
                if r.get(col) is not None:
                    _bump(self.cosines[side], round(r[col], 4))
            for f in ("anchor", "positive", "negative"):
                if r.get(f):
                    _bump(self.lengths[f], word_count(r[f]))

    def write(
        self, stats: Sequence[StageStats], out_dir: Path, *, title: str = "", filters: Sequence[Any] = ()
    ) -> Report:
        """report.md + plots/{scores,cosines,lengths}.png in out_dir; returns the report's parts."""
        out_dir = Path(out_dir)
        score_lines, cos_lines = _threshold_lines(filters)
        made = {
            "scores": plot_scores(self.scores, out_dir / "plots" / "scores.png", score_lines),
            "cosines": plot_cosines(self.cosines, out_dir / "plots" / "cosines.png", cos_lines),
            "lengths": plot_lengths(self.lengths, self.rows, out_dir / "plots" / "lengths.png"),
        }
        for name, path in made.items():
            stale = out_dir / "plots" / f"{name}.png"
            if path is None and stale.exists():
                stale.unlink()  # a re-filter without that data must not show an old plot
        plots = {k: str(p.relative_to(out_dir)) for k, p in made.items() if p is not None}
        table = filter_table_rows(stats)
        markdown = _markdown(self, table, plots, title)
        write_text_atomic(markdown, out_dir / "report.md")
        return Report(markdown=markdown, table=table, plots=plots)


def _bump(counts: dict[float, int], value: float) -> None:
    counts[value] = counts.get(value, 0) + 1


def samples_by_reason(rows: Sequence[dict], k: int = SAMPLES_PER_REASON) -> dict[str, list[dict]]:
    """Up to k rejected rows per reason class, in dataset order."""
    out: dict[str, list[dict]] = {}
    for r in rows:
        if not r["kept"]:
            bucket = out.setdefault(reason_class(r["reason"]), [])
            if len(bucket) < k:
                bucket.append(r)
    return out


def _threshold_lines(filters: Sequence[Any]) -> tuple[list, list]:
    scores, cosines = [], []
    for f in filters:
        if f.name == "thresholds":
            scores += [
                (f.min_positive, f"keep positive >= {f.min_positive:g}", POS),
                (f.max_negative, f"keep negative <= {f.max_negative:g}", NEG),
            ]
        elif f.name == "consistency":
            if f.min_positive_cos is not None:
                cosines.append((f.min_positive_cos, f"keep cos(a,p) >= {f.min_positive_cos:g}", POS))
            if f.max_negative_cos is not None:
                cosines.append((f.max_negative_cos, f"keep cos(a,n) < {f.max_negative_cos:g}", NEG))
    return scores, cosines


def write_report(
    rows: Sequence[dict], stats: Sequence[StageStats], out_dir: Path, *, title: str = "", filters: Sequence[Any] = ()
) -> Report:
    """report.md + plots/{scores,cosines,lengths}.png in out_dir from a list of rows."""
    return ReportStats.of(rows).write(stats, out_dir, title=title, filters=filters)


_MISSING = {
    "scores": "_No judge scores in this dataset (add the judge task and a `thresholds` filter)._",
    "cosines": "_No reference-encoder cosines (add a `consistency` filter)._",
    "lengths": "_No sentences._",
}


def _markdown(st: ReportStats, table: list[dict], plots: dict[str, str], title: str) -> str:
    n, kept, reasons = st.rows, st.kept, st.reasons
    reason_rows = [
        {"reason": k, "rows": v, "share of generated %": f"{100 * v / n:.1f}"}
        for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])
    ]
    parts = [
        f"# Data-quality report{': ' + title if title else ''}",
        "",
        f"{kept} of {n} generated records kept ({100 * kept / max(n, 1):.1f} %); every rejected row is in "
        "`rejects/` with its reason and the verdict of each filter it reached.",
        "",
        "## Filters (in order)",
        "",
        markdown_table(table, TABLE_COLUMNS),
        "",
        "## Rejects by reason",
        "",
        markdown_table(reason_rows, ("reason", "rows", "share of generated %")) if reason_rows else "None.",
        "",
        "## Distributions",
        "",
    ]
    captions = {
        "scores": "LLM judge scores, positives vs negatives",
        "cosines": "Reference-encoder cosines, positives vs negatives",
        "lengths": "Sentence lengths",
    }
    for name, caption in captions.items():
        parts += [f"### {caption}", "", f"![{caption}]({plots[name]})" if name in plots else _MISSING[name], ""]
    parts += [f"## Sample rejects (up to {SAMPLES_PER_REASON} per reason)", ""]
    for reason, sample in st.samples.items():
        parts += [
            f"### {reason} ({reasons[reason]})",
            "",
            markdown_table(
                [{**r, "id": r["id"][:10]} for r in sample], ("id", "anchor", "positive", "negative", "reason")
            ),
            "",
        ]
    if not reasons:
        parts.append("No rejects.")
    return "\n".join(parts).rstrip() + "\n"


def card_section(report: Report) -> str:
    """The dataset card's pointer to the report (plots embedded, paths relative to the card)."""
    lines = [
        "## Data-quality report",
        "",
        "Per-filter counts, rejects by reason, histograms and sample rejects: [report.md](report.md).",
        "",
    ]
    lines += [f"![{name}]({path})" for name, path in report.plots.items()]
    return "\n".join(lines)
