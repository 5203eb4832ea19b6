"""How well the LLM judge's similarity scores track human judgements: Spearman between the judge's
expected-value and parsed scores and the STS-B dev gold scores (0-5), on a seeded sample or the full set.
The reference encoder's cosine on the same pairs is reported beside it for scale."""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from scipy.stats import spearmanr

from synth.backends import BackendSpec, TransformersSpec, get_backend
from synth.backends.base import Backend, Sampling
from synth.tasks.base import TaskContext
from synth.tasks.judge import JudgeSpec, judge_pairs
from trainers.sts_data import Pair, load_stsb


@dataclass
class Calibration:
    model: str
    pairs: int
    spearman_expected: float | None
    n_expected: int
    spearman_parsed: float | None
    n_parsed: int
    spearman_encoder: float | None = None
    encoder: str | None = None
    seconds: float = 0.0
    unparsable: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_pairs(pairs: list[Pair], limit: int | None, seed: int) -> list[Pair]:
    if limit is None or limit >= len(pairs):
        return list(pairs)
    return random.Random(seed).sample(pairs, limit)


def _spearman(xs: list[float | None], gold: list[float]) -> tuple[float | None, int]:
    pts = [(x, g) for x, g in zip(xs, gold) if x is not None]
    if len(pts) < 3 or len({x for x, _ in pts}) < 2:
        return None, len(pts)
    rho = spearmanr([x for x, _ in pts], [g for _, g in pts]).statistic
    return float(rho), len(pts)


def calibrate(
    backend: BackendSpec | None = None,
    judge: JudgeSpec | None = None,
    limit: int | None = 200,
    seed: int = 13,
    encoder: str | None = "embedded:all-minilm-l6-v2",
    llm: Backend | None = None,
) -> Calibration:
    """Score STS-B dev pairs with the judge and correlate with gold; `limit=None` = all 1,500 pairs."""
    judge = judge or JudgeSpec()
    llm = llm or get_backend(judge.backend or backend or TransformersSpec())
    pairs = sample_pairs(load_stsb("dev"), limit, seed)
    ctx = TaskContext(seed=seed, sampling=Sampling(max_tokens=judge.max_tokens or 4), shard="calibration")
    t0 = time.perf_counter()
    out = judge_pairs([(p.s1, p.s2) for p in pairs], llm, judge, ctx)
    seconds = time.perf_counter() - t0
    gold = [p.score for p in pairs]
    rho_e, n_e = _spearman([j.expected for j in out], gold)
    rho_p, n_p = _spearman([j.parsed for j in out], gold)
    res = Calibration(
        model=llm.model_id,
        pairs=len(pairs),
        spearman_expected=rho_e,
        n_expected=n_e,
        spearman_parsed=rho_p,
        n_parsed=n_p,
        seconds=seconds,
        unparsable=sum(j.value is None for j in out),
        extra={"score_scale": [judge.score_min, judge.score_max], "exemplars": judge.exemplars},
    )
    if encoder:
        from pipelines.filters.consistency import load_encoder

        enc = load_encoder(encoder)
        a = enc.encode([p.s1 for p in pairs], normalize_embeddings=True, convert_to_numpy=True)
        b = enc.encode([p.s2 for p in pairs], normalize_embeddings=True, convert_to_numpy=True)
        res.spearman_encoder, _ = _spearman([float(x) for x in (a * b).sum(axis=1)], gold)
        res.encoder = encoder
    return res
