"""How many generated rows the rules filter's repetition checks reject, against the rules without them.

Usage: PYTHONPATH=. .venv/bin/python bench/repetition_rules.py data/quickstart
Reads the run's generated shards, applies `rules` with the recipe defaults and with the repetition checks turned
off (the baseline, same run), and prints rows rejected by each repetition reason and the rejected texts.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.filters.rules import RulesFilter, RulesSpec
from pipelines.schema import row_to_record


def main(run: Path) -> None:
    rows = [r for p in sorted((run / "generated").glob("*/shard-*.parquet")) for r in pq.read_table(p).to_pylist()]
    parsed = [r for r in rows if r["kept"]]
    records = [row_to_record(r) for r in parsed]
    with_rep = RulesFilter(RulesSpec()).verdicts(records)
    without = RulesFilter(RulesSpec(max_top_ngram_share={}, max_dup_ngram_frac={})).verdicts(records)
    extra = [(r, v) for r, v, w in zip(records, with_rep, without) if v != w]
    print(f"{run}: {len(rows)} generated rows, {len(parsed)} parsed; rules without repetition checks keep "
          f"{sum(w is None for w in without)}, with them {sum(v is None for v in with_rep)}")
    print("rejected only by a repetition check:", dict(Counter(v for _, v in extra)))
    for r, v in extra:
        field = v.split(":")[0]
        print(f"  {v}: {getattr(r, field)!r}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "data/quickstart"))
