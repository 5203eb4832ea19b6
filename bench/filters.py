"""Filter throughput: rows/s of each filter on the same synthetic-looking rows, against the rules filter
measured in the same run (the baseline), plus the whole quickstart chain through `apply_filters`.

Rows are built from the shipped corpora (SNLI premises, PubMedQA sentences): anchor = a corpus
sentence, positive = the anchor with one word dropped and two swapped, negative = another corpus
sentence; 5 % exact and 5 % near duplicates, 1 % negatives that are STS-B test sentences, random
judge scores. Each filter runs once on 20 rows first (lazy imports, caches, the STS-B index), untimed.
`consistency` is timed cold (encoding every unique sentence; model already loaded, its load time
printed apart) on the first `--encode-rows` rows, and warm (cosines stored by the cold pass: the
re-filter path).

    .venv/bin/python bench/filters.py --rows 3000 --encode-rows 1000
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import perturb  # noqa: E402

from pipelines.curate import apply_filters  # noqa: E402
from pipelines.filters import build_filter  # noqa: E402
from pipelines.filters.base import empty_columns  # noqa: E402
from pipelines.filters.consistency import ConsistencySpec, load_encoder  # noqa: E402
from pipelines.filters.decontam import DecontamSpec  # noqa: E402
from pipelines.filters.dedup import DedupSpec  # noqa: E402
from pipelines.filters.evalsets import stsb_sentences  # noqa: E402
from pipelines.filters.rules import RulesSpec  # noqa: E402
from pipelines.filters.thresholds import ThresholdsSpec  # noqa: E402
from pipelines.schema import record_to_row  # noqa: E402
from synth.records import Record  # noqa: E402

CORPORA = [
    ROOT / "pipelines/corpora/snli-premises/snli_premises.txt",
    ROOT / "pipelines/corpora/pubmedqa-sentences/pubmedqa_sentences.txt",
]


def make_records(n: int, seed: int = 0) -> list[Record]:
    rng = random.Random(seed)
    sents = [ln.strip() for p in CORPORA for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    rng.shuffle(sents)
    stsb = stsb_sentences("test")
    out: list[Record] = []
    for i in range(n):
        roll = rng.random()
        if out and roll < 0.05:  # exact duplicate of an earlier record (new seed, same texts)
            src = rng.choice(out)
            a, p, neg = src.anchor, src.positive, src.negative
        elif out and roll < 0.10:  # near duplicate: one word changed in the positive
            src = rng.choice(out)
            a, p, neg = src.anchor, src.positive + " again", src.negative
        else:
            a = sents[i % len(sents)]
            p, neg = perturb(a, rng), sents[(i * 7 + 3) % len(sents)]
            if roll > 0.99:
                neg = rng.choice(stsb)
        out.append(
            Record(
                task="pairs",
                anchor_id=str(i),
                anchor=a,
                positive=p,
                negative=neg,
                seed=i,
                positive_score=float(rng.randint(0, 5)),
                negative_score=float(rng.randint(0, 5)),
            )
        )
    return out


def timed(spec, records: list[Record], columns: dict | None = None) -> tuple[float, int]:
    """Seconds and rejects of one filter, its annotate step included (into `columns`: a later pass given the
    same columns finds the cosines stored)."""
    flt = build_filter(spec)
    t0 = time.perf_counter()
    if getattr(flt, "annotator", None) is not None:
        columns = columns if columns is not None else empty_columns(len(records))
        verdicts = flt.verdicts(flt.annotator.annotate(records, columns), columns)
    else:
        verdicts = flt.verdicts(records)
    return time.perf_counter() - t0, sum(v is not None for v in verdicts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--encode-rows", type=int, default=1000, help="rows for the cold consistency pass")
    args = ap.parse_args()
    records = make_records(args.rows)
    t0 = time.perf_counter()
    load_encoder(ConsistencySpec().encoder)
    load_s = time.perf_counter() - t0
    from pipelines.filters.decontam import build_index

    t0 = time.perf_counter()
    build_index.cache_clear()
    build_filter(DecontamSpec())
    index_s = time.perf_counter() - t0

    enc = copy.deepcopy(records[: args.encode_rows])
    specs = [
        ("rules (baseline)", RulesSpec(), records),
        ("dedup exact+near", DedupSpec(), records),
        ("dedup exact only", DedupSpec(near=False), records),
        ("thresholds", ThresholdsSpec(), records),
        ("decontam", DecontamSpec(), records),
        ("consistency cold", ConsistencySpec(), enc),
        ("consistency warm (stored cosines)", ConsistencySpec(), enc),
    ]
    for _, spec, recs in specs:
        timed(spec, copy.deepcopy(recs[-20:]))  # warm-up, untimed
    results = []
    enc_columns = empty_columns(len(enc))  # the cold pass stores cosines here; the warm pass reuses them
    for name, spec, recs in specs:
        seconds, rejected = timed(
            spec, copy.deepcopy(recs) if recs is records else recs, enc_columns if recs is enc else None
        )
        results.append((name, len(recs), seconds, rejected))
    base = results[0][1] / results[0][2]
    print(f"{args.rows} rows; encoder load {load_s:.1f}s, decontam index build {index_s:.2f}s (not in the rates)")
    print("| filter | rows | seconds | rows/s | x rules | rejected |\n|---|---|---|---|---|---|")
    for name, n, seconds, rejected in results:
        rate = n / seconds
        print(f"| {name} | {n} | {seconds:.2f} | {rate:,.0f} | {rate / base:.3g} | {rejected} |")

    rows = [record_to_row(r, {"shard": "bench"}) for r in records[: args.encode_rows]]
    chain = [RulesSpec(), DedupSpec(), DecontamSpec(), ConsistencySpec(min_positive_cos=0.7, max_negative_cos=0.97)]
    t0 = time.perf_counter()
    stats = apply_filters(rows, [build_filter(s) for s in chain])
    total = time.perf_counter() - t0
    print(
        f"\nquickstart chain (rules, dedup, decontam, consistency) via apply_filters: {len(rows)} rows in "
        f"{total:.1f}s = {len(rows) / total:,.1f} rows/s; kept {stats[-1].rows_out}"
    )
    for s in stats:
        print(f"  {s.stage}: {s.rows_in} in, {s.rows_out} kept, {s.rows_in / max(s.seconds, 1e-9):,.0f} rows/s")


if __name__ == "__main__":
    main()
