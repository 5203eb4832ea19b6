"""Evaluation report: one table of models x columns (SentEval "avg" included), regression flags, MTEB layout.

Columns: each STS set's Spearman x100, "avg" = the mean of SentEval's seven (STS12-16, STS-B test, SICK-R; shown
only when all seven were scored, as SimCSE's table reports it), and "<set> <metric>" for retrieval sets. A model
after the first is compared with the first (the base): a general set (every set that is not a domain set) that
lost more than `tolerance` points is flagged, because a domain gain must not be bought with a general loss.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from trainers.evaluate import DOMAIN_SETS, SENTEVAL_SETS

AVG = "avg"
TOLERANCE = 0.5
# MTEB's names for the sets it has (the retrieval set is this project's, so it keeps a name of its own).
MTEB_TASKS = {
    "sts12": ("STS12", "test"),
    "sts13": ("STS13", "test"),
    "sts14": ("STS14", "test"),
    "sts15": ("STS15", "test"),
    "sts16": ("STS16", "test"),
    "stsb-test": ("STSBenchmark", "test"),
    "stsb-dev": ("STSBenchmark", "validation"),
    "sickr": ("SICK-R", "test"),
    "biosses": ("BIOSSES", "test"),
    "pubmedqa-retrieval": ("PubMedQARetrievalCSynth", "test"),
}


def columns_of(name: str, res: dict[str, Any]) -> list[str]:
    return [f"{name} {m}" for m in ("ndcg@10", "mrr@10", "recall@100")] if res["kind"] == "retrieval" else [name]


def flat_scores(sets: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """column -> value (None when missing or unreadable); "avg" follows the seven when all seven were scored."""
    out: dict[str, float | None] = {}
    for name, res in sets.items():
        if res["kind"] == "retrieval":
            for col, m in zip(columns_of(name, res), ("ndcg@10", "mrr@10", "recall@100")):
                out[col] = res["metrics"].get(m) if res["status"] == "ok" else None
        else:
            out[name] = res["metrics"]["spearman"] if res["status"] == "ok" else None
        if name in SENTEVAL_SETS and all(s in out for s in SENTEVAL_SETS):
            vals = [out[s] for s in SENTEVAL_SETS]
            if all(v is not None for v in vals):
                out[AVG] = sum(vals) / len(vals)  # type: ignore[arg-type]
    return out


def is_general(column: str) -> bool:
    return column.split(" ")[0] not in DOMAIN_SETS


def regressions(results: dict[str, dict[str, float | None]], tolerance: float = TOLERANCE) -> list[dict]:
    """General columns where a later model scores more than `tolerance` points below the first model."""
    labels = list(results)
    if len(labels) < 2:
        return []
    base = results[labels[0]]
    out = []
    for label in labels[1:]:
        for col, v in results[label].items():
            b = base.get(col)
            if is_general(col) and v is not None and b is not None and v - b < -tolerance:
                out.append(
                    {"model": label, "column": col, "base": round(b, 2), "score": round(v, 2), "delta": round(v - b, 2)}
                )
    return out


def _cell(v: float | None, status: str) -> str:
    return status if v is None else ("nan" if math.isnan(v) else f"{v:.2f}")


def markdown(
    results: dict[str, dict[str, float | None]],
    sets: dict[str, dict[str, dict[str, Any]]],
    tolerance: float = TOLERANCE,
) -> str:
    """The table (models x columns, then each later model's change against the first) and the notes under it."""
    cols = list(dict.fromkeys(c for r in results.values() for c in r))
    labels = list(results)
    status = {c: res["status"] for r in sets.values() for name, res in r.items() for c in columns_of(name, res)}
    lines = ["| model | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for label in labels:
        lines.append(
            f"| {label} | " + " | ".join(_cell(results[label].get(c), status.get(c, "missing")) for c in cols) + " |"
        )
    flagged = regressions(results, tolerance)
    for label in labels[1:]:
        cells = []
        for c in cols:
            v, b = results[label].get(c), results[labels[0]].get(c)
            if v is None or b is None:
                cells.append("")
                continue
            hit = any(f["model"] == label and f["column"] == c for f in flagged)
            cells.append(f"**{v - b:+.2f} !**" if hit else f"{v - b:+.2f}")
        lines.append(f"| {label} - base | " + " | ".join(cells) + " |")
    notes = [
        "",
        "STS columns: Spearman x100 of cosine; `avg`: mean of SentEval's seven (STS12-16, STS-B test, "
        "SICK-R), shown only when all seven were scored; retrieval columns: nDCG@10, MRR@10, Recall@100 x100.",
    ]
    if len(labels) > 1:
        if flagged:
            notes.append(
                f"\n**General sets that lost more than {tolerance} points:** "
                + ", ".join(f"{f['column']} ({f['model']}: {f['delta']:+.2f})" for f in flagged)
                + "."
            )
        else:
            notes.append(f"\nNo general set lost more than {tolerance} points.")
    first = sets[labels[0]] if labels else {}
    for kind in ("error", "missing"):
        bad = {n: r["error"] for r in sets.values() for n, r in r.items() if r["status"] == kind}
        if bad:
            title = "Sets that could not be read" if kind == "error" else "Missing sets (files absent)"
            notes.append(f"\n{title}:\n" + "\n".join(f"- {n}: {e}" for n, e in bad.items()))
    sizes = ", ".join(f"{n} {r['n']}" for n, r in first.items() if r["status"] == "ok" and r["n"])
    if sizes:
        notes.append(f"\nItems scored (pairs; queries for retrieval): {sizes}.")
    return "\n".join(lines) + "\n" + "\n".join(notes) + "\n"


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "model"


def write_mteb(sets: dict[str, dict[str, dict[str, Any]]], out_dir: Path) -> list[Path]:
    """MTEB's result layout: <out>/<model>/no_revision_available/<Task>.json, scores as fractions, main_score."""
    written = []
    for label, per_set in sets.items():
        d = out_dir / _slug(label) / "no_revision_available"
        tasks: dict[str, dict[str, Any]] = {}
        for name, res in per_set.items():
            if res["status"] != "ok" or name not in MTEB_TASKS:
                continue
            task, split = MTEB_TASKS[name]
            m = {k.replace("@", "_at_"): v / 100 for k, v in res["metrics"].items()}
            if res["kind"] == "sts":
                m = {"cosine_spearman": m["spearman"], "spearman": m["spearman"]}
            m["main_score"] = m["cosine_spearman"] if res["kind"] == "sts" else m[f"{res['main'].replace('@', '_at_')}"]
            m.update(hf_subset="default", languages=["eng-Latn"])
            t = tasks.setdefault(
                task,
                {
                    "dataset_revision": "local",
                    "task_name": task,
                    "mteb_version": None,
                    "scores": {},
                    "evaluation_time": 0.0,
                    "kg_co2_emissions": None,
                },
            )
            t["scores"][split] = [m]
            t["evaluation_time"] += res["seconds"]
        if not tasks:
            continue
        d.mkdir(parents=True, exist_ok=True)
        (d / "model_meta.json").write_text(
            json.dumps({"name": label, "revision": "no_revision_available"}, indent=2), encoding="utf-8"
        )
        for task, body in tasks.items():
            (d / f"{task}.json").write_text(json.dumps(body, indent=2), encoding="utf-8")
            written.append(d / f"{task}.json")
    return written


def comparison_report(
    sets: dict[str, dict[str, dict[str, Any]]], out_dir: Path, tolerance: float = TOLERANCE
) -> tuple[Path, Path]:
    """report.json (flat scores, per-set details, regression flags) + report.md, and MTEB-layout JSONs in mteb/."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {label: flat_scores(s) for label, s in sets.items()}
    md = out_dir / "report.md"
    md.write_text("# Evaluation: base vs trained\n\n" + markdown(results, sets, tolerance), encoding="utf-8")
    js = out_dir / "report.json"
    js.write_text(
        json.dumps(
            {"scores": results, "sets": sets, "regressions": regressions(results, tolerance), "tolerance": tolerance},
            indent=2,
        ),
        encoding="utf-8",
    )
    write_mteb(sets, out_dir / "mteb")
    return js, md


CARD_BEGIN, CARD_END = "<!-- csynth:evaluation -->", "<!-- /csynth:evaluation -->"


def card_section(card: Path, report_md: str) -> None:
    """Put the evaluation table (with the SentEval avg) into the model card, replacing an earlier one."""
    if not card.exists():
        return
    text = card.read_text(encoding="utf-8")
    body = report_md.split("\n", 1)[1].strip() if report_md.startswith("# ") else report_md.strip()
    block = f"{CARD_BEGIN}\n## Evaluation (contrastive-synth)\n\n{body}\n{CARD_END}"
    if CARD_BEGIN in text and CARD_END in text:
        head, rest = text.split(CARD_BEGIN, 1)
        text = head + block + rest.split(CARD_END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    card.write_text(text, encoding="utf-8")
