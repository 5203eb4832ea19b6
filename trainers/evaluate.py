"""STS evaluation: Spearman correlation (x100) between cosine similarity of embeddings and gold scores."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import spearmanr

from trainers.sts_data import MissingEvalSet, Pair, load_stsb

log = logging.getLogger(__name__)


class EvalSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sets: list[str] = Field(default_factory=lambda: ["stsb-dev", "stsb-test"])
    data_dir: str | None = Field(None, description="directory with STS12-16 / SICK files (users bring them)")
    max_pairs: int | None = Field(None, ge=10, description="evaluate on the first N pairs only (quick checks)")
    batch_size: int = Field(64, ge=1)


def load_set(name: str, data_dir: str | None = None) -> list[Pair]:
    if name in ("stsb-dev", "stsb-test"):
        return load_stsb(name.split("-")[1])
    raise MissingEvalSet(name)


def spearman_cosine(model: Any, pairs: Sequence[Pair], batch_size: int = 64) -> float:
    """Spearman x100 of cos(u, v) against gold, the SentEval/SimCSE convention."""
    s1 = model.encode([p.s1 for p in pairs], batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True)
    s2 = model.encode([p.s2 for p in pairs], batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True)
    cos = np.sum(s1 * s2, axis=1)
    return float(spearmanr(cos, [p.score for p in pairs]).statistic * 100)


def evaluate_model(model: Any, spec: EvalSpec) -> dict[str, float | None]:
    """Spearman per set; a set whose files are missing maps to None (reported, not fatal)."""
    out: dict[str, float | None] = {}
    for name in spec.sets:
        try:
            pairs = load_set(name, spec.data_dir)
        except MissingEvalSet:
            log.warning("evaluation set %s is missing; reported as missing", name)
            out[name] = None
            continue
        if spec.max_pairs:
            pairs = pairs[: spec.max_pairs]
        out[name] = spearman_cosine(model, pairs, spec.batch_size)
        log.info("%s: Spearman %.2f on %d pairs", name, out[name], len(pairs))
    return out


def load_encoder(path_or_name: str):
    from sentence_transformers import SentenceTransformer

    from synth.embedded import resolve_encoder

    return SentenceTransformer(resolve_encoder(path_or_name), device="cpu")


def comparison_report(results: dict[str, dict[str, float | None]], out_dir: Path) -> tuple[Path, Path]:
    """One table of models x sets, as JSON and Markdown."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sets = sorted({s for r in results.values() for s in r})
    lines = ["| model | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for model, r in results.items():
        cells = ["missing" if r.get(s) is None else f"{r[s]:.2f}" for s in sets]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    md = out_dir / "report.md"
    md.write_text("# STS evaluation (Spearman x100 of cosine)\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    js = out_dir / "report.json"
    js.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return js, md
