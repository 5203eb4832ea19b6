"""How many generated rows the rules filter's repetition checks reject, against the rules without them, and
how many human sentences (the fixtures: shipped corpora, few-shot exemplars, ../shared/data) they would lose.

Usage: PYTHONPATH=. .venv/bin/python bench/repetition_rules.py data/quickstart
Reads the run's generated shards (finished ones: a run still generating gives a partial count), applies `rules`
with the recipe defaults and with the repetition checks turned off (the baseline, same run), and prints rows
rejected by each repetition reason, what each threshold rejects on its own, and the rejected texts.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.filters.repetition import repetition_problem
from pipelines.filters.rules import RulesFilter, RulesSpec, exemplar_outputs
from pipelines.schema import row_to_record

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def human_sentences() -> dict[str, list[str]]:
    """Good sentences the checks must keep: shipped corpora, exemplar outputs, the shared corpora and STS-B."""
    from pipelines.corpora import __file__ as corpora_init

    sets = {
        p.parent.name: [ln for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
        for p in sorted(Path(corpora_init).parent.glob("*/*.txt"))
    }
    sets["exemplar outputs"] = sorted(exemplar_outputs())
    for p in sorted(q for q in SHARED.glob("*/*.txt") if q.parent.name != "stsbenchmark"):  # its .txt are docs
        sets[f"shared/{p.parent.name}"] = [ln for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    sts = [
        c
        for f in sorted(SHARED.glob("stsbenchmark/sts-*.csv"))
        for row in f.read_text(encoding="utf-8").splitlines()
        for c in row.split("\t")[5:7]
        if c.strip()
    ]
    if sts:
        sets["shared/stsbenchmark sentences"] = sts
    return sets


def main(run: Path) -> None:
    spec = RulesSpec()
    shards = sorted((run / "generated").glob("*/shard-*.parquet"))
    rows = [r for p in shards for r in pq.read_table(p).to_pylist()]
    parsed = [r for r in rows if r["kept"]]
    records = [row_to_record(r) for r in parsed]
    with_rep = RulesFilter(spec).verdicts(records)
    without = RulesFilter(RulesSpec(max_top_ngram_share={}, max_dup_ngram_frac={})).verdicts(records)
    extra = [(r, v) for r, v, w in zip(records, with_rep, without) if v != w]
    print(
        f"{run}: {len(shards)} shards, {len(rows)} generated rows, {len(parsed)} parsed; rules without repetition "
        f"checks keep {sum(w is None for w in without)}, with them {sum(v is None for v in with_rep)}"
    )
    print("rejected only by a repetition check (first reason):", dict(Counter(v for _, v in extra)))
    alone = [({n: t}, {}) for n, t in sorted(spec.max_top_ngram_share.items())]
    alone += [({}, {n: t}) for n, t in sorted(spec.max_dup_ngram_frac.items())]
    kept_before = [r for r, w in zip(records, without) if w is None]
    for top, dup in alone:
        name = (
            f"top_{next(iter(top))}gram_share > {next(iter(top.values()))}"
            if top
            else f"dup_{next(iter(dup))}gram_frac > {next(iter(dup.values()))}"
        )
        hit = sum(1 for r in kept_before if any(repetition_problem(t, top, dup) for t in (r.positive, r.negative) if t))
        print(f"  {name} alone: {hit} of {len(kept_before)} rows")
    for r, v in extra:
        field = v.split(":")[0]
        print(f"  {v}: {getattr(r, field)!r}")
    print("human sentences lost to the defaults:")
    for name, lines in human_sentences().items():
        lost = [ln for ln in lines if repetition_problem(ln, spec.max_top_ngram_share, spec.max_dup_ngram_frac)]
        print(f"  {name}: {len(lost)} of {len(lines)}", sorted(set(ln[:60] for ln in lost)))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "data/quickstart"))
