"""STS evaluation: Spearman correlation (x100) between cosine similarity of embeddings and gold scores.

Sets: sts12..sts16 (SentEval "all": each year's subsets pooled), stsb-dev, stsb-test, sickr (SICK-R test),
`senteval` = the seven of SimCSE's table (sts12-16, stsb-test, sickr), and `mteb:<Task>` (e.g. mteb:STS12)
through the optional `mteb` package, which downloads its data (online only). STS12-16 and SICK come from the
user's `data_dir` (formats in trainers/sts_data.py); STS-B from there or the shipped copy.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from scipy.stats import spearmanr

from trainers.sts_data import YEARS, MissingEvalSet, Pair, load_sickr, load_sts_year, load_stsb, spread

log = logging.getLogger(__name__)


SENTEVAL_SETS = ["sts12", "sts13", "sts14", "sts15", "sts16", "stsb-test", "sickr"]
ALIASES = {"sick-r": "sickr", "sick": "sickr", "stsb": "stsb-test"}


def expand_sets(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for n in names:
        n = ALIASES.get(n.lower(), n if n.startswith("mteb:") else n.lower())
        for m in SENTEVAL_SETS if n == "senteval" else [n]:
            if m not in out:
                out.append(m)
    return out


class EvalSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sets: list[str] = Field(default_factory=lambda: ["stsb-dev", "stsb-test"])
    data_dir: str | None = Field(None, description="directory with STS12-16 / SICK files (users bring them)")
    max_pairs: int | None = Field(None, ge=10, description="evaluate on N pairs spread over each set (quick checks)")
    batch_size: int = Field(64, ge=1)

    @field_validator("sets")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        known = {*YEARS, "stsb-dev", "stsb-test", "sickr", "senteval", *ALIASES}
        bad = [n for n in v if n.lower() not in known and not n.startswith("mteb:")]
        if bad:
            raise ValueError(f"unknown evaluation set(s) {bad}; known: {sorted(known)} or mteb:<Task>")
        return v


def _stsb_dir(data_dir: str | None) -> Path | None:
    if data_dir:
        for name in ("stsbenchmark", "STSBenchmark", "stsb"):
            if (Path(data_dir) / name).is_dir():
                return Path(data_dir) / name
    return None


def load_set(name: str, data_dir: str | None = None) -> list[Pair]:
    """All labelled pairs of one set (a year's subsets pooled); MissingEvalSet when its files are absent."""
    if name in ("stsb-dev", "stsb-test"):
        return load_stsb(name.split("-")[1], _stsb_dir(data_dir))
    if name in YEARS:
        return [p for pairs in load_sts_year(name, Path(data_dir) if data_dir else None).values() for p in pairs]
    if name == "sickr":
        return load_sickr(Path(data_dir) if data_dir else None)
    raise MissingEvalSet(name)


def mteb_spearman(model: Any, task: str) -> float:
    """Spearman x100 of cosine from MTEB's STS task (needs `pip install mteb` and internet for its data)."""
    try:
        import mteb
    except ImportError:
        raise RuntimeError(f"mteb:{task} needs the optional `mteb` package (pip install mteb) and internet access "
                           "to download the task's data; local sets need no extra package") from None
    try:
        res = mteb.evaluate(model, mteb.get_tasks(tasks=[task]), cache=None)
        scores = res[0].scores["test"][0]
    except Exception as exc:  # network / hub errors surface here
        raise RuntimeError(f"mteb:{task} could not run ({type(exc).__name__}: {exc}); MTEB downloads its data, "
                           "so it needs internet (HF_HUB_OFFLINE must be unset)") from exc
    return float(scores.get("cosine_spearman", scores.get("main_score")) * 100)


def spearman_cosine(model: Any, pairs: Sequence[Pair], batch_size: int = 64) -> float:
    """Spearman x100 of cos(u, v) against gold, the SentEval/SimCSE convention."""
    s1 = model.encode([p.s1 for p in pairs], batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True)
    s2 = model.encode([p.s2 for p in pairs], batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True)
    cos = np.sum(s1 * s2, axis=1)
    return float(spearmanr(cos, [p.score for p in pairs]).statistic * 100)


def evaluate_model(model: Any, spec: EvalSpec) -> dict[str, float | None]:
    """Spearman per set; a set whose files are missing maps to None (reported, not fatal)."""
    out: dict[str, float | None] = {}
    for name in expand_sets(spec.sets):
        if name.startswith("mteb:"):
            out[name] = mteb_spearman(model, name[len("mteb:"):])
            continue
        try:
            pairs = load_set(name, spec.data_dir)
        except MissingEvalSet as exc:
            log.warning("evaluation set %s is missing (%s); reported as missing", name, exc)
            out[name] = None
            continue
        if spec.max_pairs:
            pairs = spread(pairs, spec.max_pairs)
        out[name] = spearman_cosine(model, pairs, spec.batch_size)
        log.info("%s: Spearman %.2f on %d pairs", name, out[name], len(pairs))
    return out


def load_encoder(path_or_name: str, pooler: str = "keep", max_seq_length: int | None = None,
                 base_layers: int | None = None, device: str = "auto"):
    """A saved/packaged sentence-transformers model, or a raw base (e.g. the embedded SmolLM2) with a pooler,
    on `device` (the recipe's [train] device: evaluation runs where training ran)."""
    from trainers.device import resolve_device
    from trainers.model import build_model

    return build_model(path_or_name, pooler, max_seq_length, base_layers=base_layers,  # type: ignore[arg-type]
                       device=resolve_device(device))


def comparison_report(results: dict[str, dict[str, float | None]], out_dir: Path) -> tuple[Path, Path]:
    """One table of models x sets, as JSON and Markdown."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sets = list(dict.fromkeys(s for r in results.values() for s in r))
    lines = ["| model | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for model, r in results.items():
        cells = ["missing" if r.get(s) is None else f"{r[s]:.2f}" for s in sets]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    md = out_dir / "report.md"
    md.write_text("# STS evaluation (Spearman x100 of cosine)\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    js = out_dir / "report.json"
    js.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return js, md
