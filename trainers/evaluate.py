"""Evaluation of an encoder on STS sets (Spearman x100 of cosine) and domain sets (STS and retrieval).

Sets: sts12..sts16 (SentEval "all": each year's subsets pooled), stsb-dev, stsb-test, sickr (SICK-R test),
`senteval` = the seven of SimCSE's table (sts12-16, stsb-test, sickr), `biosses` (biomedical STS, all 100 pairs,
as MTEB scores it), `pubmedqa-retrieval` (nDCG@10, MRR@10, Recall@100 through sentence-transformers'
InformationRetrievalEvaluator) and `mteb:<Task>` (e.g. mteb:STS12) through the optional `mteb` package, which
downloads its data (online only). STS12-16, SICK and BIOSSES come from the user's `data_dir` (formats in
trainers/sts_data.py and trainers/domain_data.py); STS-B and PubMedQA retrieval from there or the shipped copy.
A set whose files are absent is "missing"; one that cannot be read is an "error" with its message; both are
reported beside the sets that were scored, never fatal to them.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from scipy.stats import spearmanr

from pipelines.progress import encode
from trainers.domain_data import load_biosses, load_retrieval
from trainers.sts_data import YEARS, EvalDataError, MissingEvalSet, Pair, load_sickr, load_sts_year, load_stsb, spread

log = logging.getLogger(__name__)


SENTEVAL_SETS = ["sts12", "sts13", "sts14", "sts15", "sts16", "stsb-test", "sickr"]
ALIASES = {"sick-r": "sickr", "sick": "sickr", "stsb": "stsb-test"}
DOMAIN_SETS = ["biosses", "pubmedqa-retrieval"]
RETRIEVAL_SETS = {"pubmedqa-retrieval": "pubmedqa_retrieval"}  # set name -> file prefix
RETRIEVAL_METRICS = ["ndcg@10", "mrr@10", "recall@100"]  # the first is the main score (as in MTEB)


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
        known = {*YEARS, "stsb-dev", "stsb-test", "sickr", "senteval", *DOMAIN_SETS, *ALIASES}
        bad = [n for n in v if n.lower() not in known and not n.startswith("mteb:")]
        if bad:
            raise ValueError(f"unknown evaluation set(s) {bad}; known: {sorted(known)} or mteb:<Task>")
        return v


def _stsb_dir(data_dir: str | None) -> Path | None:
    if data_dir:
        for root in (Path(data_dir), Path(data_dir) / "STS"):
            for name in ("stsbenchmark", "STSBenchmark", "stsb"):
                if (root / name).is_dir():
                    return root / name
    return None


def load_set(name: str, data_dir: str | None = None) -> list[Pair]:
    """All labelled pairs of one set (a year's subsets pooled); MissingEvalSet when its files are absent."""
    if name in ("stsb-dev", "stsb-test"):
        return load_stsb(name.split("-")[1], _stsb_dir(data_dir))
    if name in YEARS:
        return [p for pairs in load_sts_year(name, Path(data_dir) if data_dir else None).values() for p in pairs]
    if name == "sickr":
        return load_sickr(Path(data_dir) if data_dir else None)
    if name == "biosses":
        return load_biosses(data_dir)
    raise MissingEvalSet(name)


def mteb_spearman(model: Any, task: str) -> float:
    """Spearman x100 of cosine from MTEB's STS task (needs `pip install mteb` and internet for its data)."""
    try:
        import mteb
    except ImportError:
        raise RuntimeError(
            f"mteb:{task} needs the optional `mteb` package (pip install mteb) and internet access "
            "to download the task's data; local sets need no extra package"
        ) from None
    try:
        res = mteb.evaluate(model, mteb.get_tasks(tasks=[task]), cache=None)
        scores = res[0].scores["test"][0]
    except Exception as exc:  # network / hub errors surface here
        raise RuntimeError(
            f"mteb:{task} could not run ({type(exc).__name__}: {exc}); MTEB downloads its data, "
            "so it needs internet (HF_HUB_OFFLINE must be unset)"
        ) from exc
    return float(scores.get("cosine_spearman", scores.get("main_score")) * 100)


def spearman_cosine(model: Any, pairs: Sequence[Pair], batch_size: int = 64) -> float:
    """Spearman x100 of cos(u, v) against gold, the SentEval/SimCSE convention."""
    s1 = encode(
        model, [p.s1 for p in pairs], label="evaluate: sentence 1", batch_size=batch_size, normalize_embeddings=True
    )
    s2 = encode(
        model, [p.s2 for p in pairs], label="evaluate: sentence 2", batch_size=batch_size, normalize_embeddings=True
    )
    cos = np.sum(s1 * s2, axis=1)
    return float(spearmanr(cos, [p.score for p in pairs]).statistic * 100)


def retrieval_scores(
    model: Any, name: str, data_dir: str | None, max_queries: int | None = None, batch_size: int = 64
) -> tuple[dict[str, float], int]:
    """nDCG@10, MRR@10, Recall@100 (x100) of cosine ranking over the whole corpus, and the number of queries."""
    try:
        from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.evaluation import InformationRetrievalEvaluator
    from sentence_transformers.util import cos_sim

    rs = load_retrieval(RETRIEVAL_SETS[name], data_dir)
    qids = [q for q in rs.queries]
    keep = set(spread(qids, max_queries))  # type: ignore[arg-type]
    queries = {q: t for q, t in rs.queries.items() if q in keep}
    ev = InformationRetrievalEvaluator(
        queries,
        rs.corpus,
        {q: rs.relevant[q] for q in queries},
        mrr_at_k=[10],
        ndcg_at_k=[10],
        accuracy_at_k=[1],
        precision_recall_at_k=[100],
        map_at_k=[100],
        batch_size=batch_size,
        name=name,
        write_csv=False,
        score_functions={"cosine": cos_sim},
        main_score_function="cosine",
    )
    m = ev(model)
    return {k: float(m[f"{name}_cosine_{k}"] * 100) for k in RETRIEVAL_METRICS}, len(queries)


def score_set(model: Any, name: str, spec: EvalSpec) -> dict[str, Any]:
    """One set's result: {status: ok|missing|error, kind, metrics, main, n, seconds, error}."""
    t0 = time.perf_counter()
    kind = "retrieval" if name in RETRIEVAL_SETS else "sts"
    res: dict[str, Any] = {
        "status": "ok",
        "kind": kind,
        "metrics": {},
        "n": 0,
        "error": None,
        "main": RETRIEVAL_METRICS[0] if kind == "retrieval" else "spearman",
    }
    try:
        if name.startswith("mteb:"):
            res["metrics"] = {"spearman": mteb_spearman(model, name[len("mteb:") :])}
        elif kind == "retrieval":
            res["metrics"], res["n"] = retrieval_scores(model, name, spec.data_dir, spec.max_pairs, spec.batch_size)
        else:
            pairs = spread(load_set(name, spec.data_dir), spec.max_pairs)
            rho = spearman_cosine(model, pairs, spec.batch_size)
            if math.isnan(rho):
                raise ValueError(f"Spearman is undefined on {len(pairs)} pairs (constant gold scores or cosines)")
            res["metrics"], res["n"] = {"spearman": rho}, len(pairs)
    except MissingEvalSet as exc:
        log.warning("evaluation set %s is missing (%s); reported as missing", name, exc)
        res.update(status="missing", error=str(exc))
    except (EvalDataError, OSError, UnicodeError, RuntimeError, ValueError) as exc:
        log.error("evaluation set %s could not be read or scored: %s; the other sets go on", name, exc)
        res.update(status="error", error=f"{type(exc).__name__}: {exc}")
    res["seconds"] = round(time.perf_counter() - t0, 1)
    if res["status"] == "ok":
        log.info("%s: %s on %d items in %.1fs", name, res["metrics"], res["n"], res["seconds"])
    return res


def evaluate_sets(model: Any, spec: EvalSpec) -> dict[str, dict[str, Any]]:
    """Every set of the spec, in order: each scored, missing or failed on its own."""
    return {name: score_set(model, name, spec) for name in expand_sets(spec.sets)}


def evaluate_model(model: Any, spec: EvalSpec) -> dict[str, float | None]:
    """Flat scores per column (a set, "avg", or "<set> <metric>" for retrieval); None = missing or unreadable."""
    from trainers.eval_report import flat_scores

    return flat_scores(evaluate_sets(model, spec))


def load_encoder(
    path_or_name: str,
    pooler: str = "keep",
    max_seq_length: int | None = None,
    base_layers: int | None = None,
    device: str = "auto",
):
    """A saved/packaged sentence-transformers model, or a raw base (e.g. the embedded SmolLM2) with a pooler,
    on `device` (the recipe's [train] device: evaluation runs where training ran)."""
    from trainers.device import resolve_device
    from trainers.model import build_model

    return build_model(
        path_or_name,
        pooler,
        max_seq_length,
        base_layers=base_layers,  # type: ignore[arg-type]
        device=resolve_device(device),
    )
