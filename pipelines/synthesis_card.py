"""Dataset-card section for ranked lists, AI-feedback scores and scratch anchors (issue 4): which tasks the
judge scored, score means, the fraction of monotone ranked lists, and what the scratch stage rejected."""
from __future__ import annotations

import json
from pathlib import Path
from statistics import mean
from typing import Any, Sequence

from pipelines.shards import write_text_atomic

HEADING = "## Ranked lists, judge scores and scratch anchors"


def monotone_fraction(rows: Sequence[dict[str, Any]], check: str) -> tuple[int, int]:
    """(monotone lists, lists carrying the check) over the given rows."""
    vals = [c["value"] for r in rows if r.get("ranked") for c in r.get("checks") or [] if c["name"] == check]
    return int(sum(v == 1.0 for v in vals)), len(vals)


def _fmt(xs: list[float]) -> str:
    return f"{mean(xs):.2f} (n={len(xs)})" if xs else "–"


def section(rows: Sequence[dict[str, Any]], anchors_dir: Path | None = None) -> str | None:
    """The markdown section, or None when the run has no ranked lists, scores or scratch anchors."""
    kept = [r for r in rows if r["kept"]]
    scored = [r for r in rows if r.get("scores")]
    ranked = [r for r in rows if r.get("ranked") is not None]
    manifest = sorted(anchors_dir.glob("scratch-*.json")) if anchors_dir and anchors_dir.exists() else []
    if not (scored or ranked or manifest):
        return None
    out = [HEADING, ""]
    if scored or any(r["task"] == "judge" for r in rows):
        out += ["| task | records | judge-scored | kept |", "|---|---|---|---|"]
        for task in sorted({r["task"] for r in rows}):
            rs = [r for r in rows if r["task"] == task]
            out.append(f"| {task} | {len(rs)} | {sum(bool(r.get('scores')) for r in rs)} | "
                       f"{sum(r['kept'] for r in rs)} |")
        judge_fail = sum(1 for r in rows if (r.get("reason") or "").startswith("parse:judge_"))
        out += ["", f"Judge scores over kept rows (mean): positive {_fmt([r['positive_score'] for r in kept if r.get('positive_score') is not None])}, "
                    f"negative {_fmt([r['negative_score'] for r in kept if r.get('negative_score') is not None])}, "
                    f"random pairs {_fmt([r['pair_score'] for r in kept if r['task'] == 'judge' and r.get('pair_score') is not None])}; "
                    f"unparsable judgements (rejected): {judge_fail}.", ""]
    if ranked:
        modes = sorted({r.get("ranked_mode") or "" for r in ranked})
        out.append(f"Ranked lists: {len(ranked)} generated ({', '.join(modes)}), {sum(r['kept'] for r in ranked)} kept.")
        for check, label in (("ranked_monotone_encoder", "reference-encoder cosine"),
                             ("ranked_monotone_judge", "judge score")):
            m, n = monotone_fraction(ranked, check)  # every list the monotone filter saw, kept or not
            mk, nk = monotone_fraction([r for r in ranked if r["kept"]], check)
            out.append(f"- monotone by {label}: {m}/{n}" + (f" = {m / n:.2f} of the lists checked; kept lists "
                                                             f"{mk}/{nk}" if n else " (no `monotone` filter, or no "
                                                             "list reached it / had scores)"))
        out.append("")
    for path in manifest[-1:]:
        counts = json.loads(path.read_text(encoding="utf-8")).get("counts", {})
        out.append(f"Scratch anchors written by the LLM: {counts.get('anchors', 0)} kept, {counts.get('rejected', 0)} "
                   f"rejected ({', '.join(f'{k} {v}' for k, v in counts.get('by_reason', {}).items()) or 'none'}); "
                   f"rejects in `anchors/scratch_rejects.jsonl`.")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def add_to_card(dataset_dir: Path, rows: Sequence[dict[str, Any]], anchors_dir: Path | None = None) -> bool:
    """Insert the section before the card's recipe; False when there is nothing to say."""
    card = dataset_dir / "README.md"
    text_section = section(rows, anchors_dir)
    if text_section is None or not card.exists():
        return False
    text = card.read_text(encoding="utf-8")
    if HEADING in text:
        return True
    cut = text.rfind("\n## Recipe")
    block = "\n" + text_section
    write_text_atomic(text[:cut] + block + text[cut:] if cut >= 0 else text + block, card)
    return True
