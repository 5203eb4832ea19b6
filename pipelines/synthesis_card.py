"""Dataset-card section for ranked lists, AI-feedback scores and scratch anchors (issue 4): which tasks the
judge scored, score means, the fraction of monotone ranked lists, and what the scratch stage rejected. The
section is returned, not inserted: the curate flow hands every section to the one card writer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

HEADING = "## Ranked lists, judge scores and scratch anchors"


CHECKS = (("ranked_monotone_encoder", "reference-encoder cosine"), ("ranked_monotone_judge", "judge score"))


def monotone_fraction(rows: Sequence[dict[str, Any]], check: str) -> tuple[int, int]:
    """(monotone lists, lists carrying the check column) over the given rows."""
    vals = [r[check] for r in rows if r.get("ranked") and r.get(check) is not None]
    return int(sum(bool(v) for v in vals)), len(vals)


@dataclass
class SynthesisTally:
    """The section's figures, summed batch by batch (`add`), so a streamed dataset never holds its rows."""

    tasks: dict[str, list[int]] = field(default_factory=dict)  # task -> [records, judge-scored, kept]
    scored: int = 0
    judge_fail: int = 0
    means: dict[str, list[float]] = field(default_factory=lambda: {k: [0.0, 0] for k in ("pos", "neg", "pair")})
    ranked: int = 0
    ranked_kept: int = 0
    modes: set[str] = field(default_factory=set)
    monotone: dict[str, list[int]] = field(default_factory=dict)  # check -> [m, n, m kept, n kept]

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        for r in rows:
            t = self.tasks.setdefault(r["task"], [0, 0, 0])
            t[0] += 1
            t[1] += bool(r.get("scores"))
            t[2] += bool(r["kept"])
            self.scored += bool(r.get("scores"))
            self.judge_fail += (r.get("reason") or "").startswith("parse:judge_")
            if r["kept"]:
                for key, col, ok in (
                    ("pos", "positive_score", True),
                    ("neg", "negative_score", True),
                    ("pair", "pair_score", r["task"] == "judge"),
                ):
                    if ok and r.get(col) is not None:
                        self.means[key][0] += r[col]
                        self.means[key][1] += 1
            if r.get("ranked") is not None:
                self.ranked += 1
                self.ranked_kept += bool(r["kept"])
                self.modes.add(r.get("ranked_mode") or "")
                for check, _ in CHECKS:
                    m, n = monotone_fraction([r], check)
                    acc = self.monotone.setdefault(check, [0, 0, 0, 0])
                    acc[0] += m
                    acc[1] += n
                    if r["kept"]:
                        acc[2] += m
                        acc[3] += n


def _fmt(acc: list[float]) -> str:
    return f"{acc[0] / acc[1]:.2f} (n={int(acc[1])})" if acc[1] else "–"


def section(rows: "Sequence[dict[str, Any]] | SynthesisTally", anchors_dir: Path | None = None) -> str | None:
    """The markdown section, or None when the run has no ranked lists, scores or scratch anchors."""
    if isinstance(rows, SynthesisTally):
        st = rows
    else:
        st = SynthesisTally()
        st.add(rows)
    manifest = sorted(anchors_dir.glob("scratch-*.json")) if anchors_dir and anchors_dir.exists() else []
    if not (st.scored or st.ranked or manifest):
        return None
    out = [HEADING, ""]
    if st.scored or "judge" in st.tasks:
        out += ["| task | records | judge-scored | kept |", "|---|---|---|---|"]
        for task in sorted(st.tasks):
            n, scored, kept = st.tasks[task]
            out.append(f"| {task} | {n} | {scored} | {kept} |")
        out += [
            "",
            f"Judge scores over kept rows (mean): positive {_fmt(st.means['pos'])}, "
            f"negative {_fmt(st.means['neg'])}, random pairs {_fmt(st.means['pair'])}; "
            f"unparsable judgements (rejected): {st.judge_fail}.",
            "",
        ]
    if st.ranked:
        out.append(f"Ranked lists: {st.ranked} generated ({', '.join(sorted(st.modes))}), {st.ranked_kept} kept.")
        for check, label in CHECKS:
            m, n, mk, nk = st.monotone.get(check, [0, 0, 0, 0])  # every list the monotone filter saw, kept or not
            out.append(
                f"- monotone by {label}: {m}/{n}"
                + (
                    f" = {m / n:.2f} of the lists checked; kept lists {mk}/{nk}"
                    if n
                    else " (no `monotone` filter, or no list reached it / had scores)"
                )
            )
        out.append("")
    for path in manifest[-1:]:
        counts = json.loads(path.read_text(encoding="utf-8")).get("counts", {})
        out.append(
            f"Scratch anchors written by the LLM: {counts.get('anchors', 0)} kept, {counts.get('rejected', 0)} "
            f"rejected ({', '.join(f'{k} {v}' for k, v in counts.get('by_reason', {}).items()) or 'none'}); "
            f"rejects in `anchors/scratch_rejects.jsonl`."
        )
        out.append("")
    return "\n".join(out).rstrip() + "\n"
