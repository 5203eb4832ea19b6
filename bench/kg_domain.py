"""Figures of a knowledge-graph guided run (issue 5) for docs/benchmarks.md: graph size, how many positives kept
every extracted fact, how many hard negatives changed exactly their targeted one (per kind, before any filter),
and what the filters kept. Usage: python bench/kg_domain.py data/kg-domain"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.dataset import read_dataset_rows  # noqa: E402
from pipelines.knowledge_graph import fact_stats  # noqa: E402


def main(run: Path) -> None:
    g = json.loads((run / "kg" / "summary.json").read_text())
    rows = read_dataset_rows(run / "dataset") + read_dataset_rows(run / "dataset", "rejects")
    st = fact_stats(rows)
    kinds = Counter(r["negative_kind"] for r in rows)
    from_edit = sum(1 for r in rows if any(c["name"] == "kg_negative_from_edit" for c in r["checks"] or []))
    hops = Counter(int(c["value"]) for r in rows for c in r["checks"] or [] if c["name"] == "kg_replacement_hops")
    reasons = Counter(r["reason"] for r in rows if not r["kept"])
    print(f"graph: {g['nodes']} nodes, {g['edges']} edges, types {g['types']} from {g['anchors']} anchors")
    print(f"records: {len(rows)} ({dict(kinds)}); parsed: {st['records']}")
    print(f"positives that kept all facts: {st['positives_kept_all_facts']}/{st['records']}")
    print(f"negatives that changed exactly the targeted fact: {st['negatives_changed_exactly_one']}/{st['records']}")
    for k in ("entity_swap", "quantity_change", "refute"):
        print(f"  {k}: {st.get(f'negatives_{k}_ok', 0)}/{st.get(f'negatives_{k}', 0)}")
    print(f"edit-based negatives taken from the code edit (LLM rewrite lost a fact or was not asked): {from_edit}")
    print(f"entity swaps by graph hops (1 neighbour, 2 two-hop, 0 same type elsewhere): {dict(hops)}")
    print(f"kept after filters: {sum(r['kept'] for r in rows)}/{len(rows)}; rejects: {dict(reasons.most_common())}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "data/kg-domain"))
