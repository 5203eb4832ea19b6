"""Figures of a knowledge-graph guided run (issues 5 and 20) for docs/benchmarks.md: graph size, how many positives
kept every extracted fact, how many hard negatives changed exactly their targeted one (per kind, before any filter:
read from the generated shards the run plan lists), and what the filters kept. For GCSE runs (recipes/gcse.toml)
also: the extension sentences (made / asked, and the facts of the rows generated from them, per path: main parts or
entities), the facts per style
pool (styled vs plain requests), neighbour-swap positives, and how GCSE's re-selection formed the kept rows.
Usage: python bench/kg_domain.py data/kg-domain"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.curate import load_rows  # noqa: E402
from pipelines.dataset import read_dataset_rows  # noqa: E402
from pipelines.knowledge_graph import fact_stats  # noqa: E402
from pipelines.runplan import RunPlan  # noqa: E402


def _facts(label: str, rows: list[dict], sides: str = "pn") -> None:
    st = fact_stats(rows)
    parts = ([f"positives kept all facts {st['positives_kept_all_facts']}/{st['records']}"] if "p" in sides else []) + (
        [f"negatives changed exactly the target {st['negatives_changed_exactly_one']}/{st['records']}"]
        if "n" in sides
        else []
    )
    print(f"  {label}: {', '.join(parts)}")


def _styles(rows: list[dict]) -> dict[str, str]:
    """Per row id: 'styled' or 'plain' for each role (style ids follow the instruction ids in prompt_ids)."""
    return {r["id"]: ",".join(p for p in r["provenance"]["prompt_ids"] if p.startswith("kg-style-")) for r in rows}


def main(run: Path) -> None:
    g = json.loads((run / "kg" / "summary.json").read_text())
    generated = [r for r in load_rows(RunPlan.read(run).shard_paths()) if r["task"] == "kg_variants"]
    final = read_dataset_rows(run / "dataset") + read_dataset_rows(run / "dataset", "rejects")
    st = fact_stats(generated)
    kinds = Counter(r["negative_kind"] for r in generated)
    checks = [{c["name"]: c["value"] for c in r["checks"] or []} for r in generated]
    from_edit = sum(1 for c in checks if "kg_negative_from_edit" in c)
    hops = Counter(int(c["kg_replacement_hops"]) for c in checks if "kg_replacement_hops" in c)
    reasons = Counter(r["reason"] for r in final if not r["kept"])
    print(
        f"graph ({g.get('graph', 'cooccurrence')}): {g['nodes']} nodes, {g['edges']} edges, types {g['types']} "
        f"from {g['anchors']} anchors"
    )
    if g.get("main_parts"):
        print(f"main-part graph: {g['main_parts']}")
    print(f"records: {len(generated)} ({dict(kinds)}); parsed: {st['records']}")
    print(f"positives that kept all facts: {st['positives_kept_all_facts']}/{st['records']}")
    print(f"negatives that changed exactly the targeted fact: {st['negatives_changed_exactly_one']}/{st['records']}")
    for k in ("entity_swap", "quantity_change", "refute"):
        print(f"  {k}: {st.get(f'negatives_{k}_ok', 0)}/{st.get(f'negatives_{k}', 0)}")
    print(f"edit-based negatives taken from the code edit (LLM rewrite lost a fact or was not asked): {from_edit}")
    print(f"entity swaps by graph hops (1 neighbour, 2 two-hop, 0 same type elsewhere): {dict(hops)}")
    gcse(run, generated, checks)
    print(f"kept after filters: {sum(r['kept'] for r in final)}/{len(final)}; rejects: {dict(reasons.most_common())}")
    marks = Counter(
        c["name"] for r in final if r["kept"] for c in r["checks"] or [] if c["name"].startswith("reselect_")
    )
    if marks:
        print(f"kept rows by how GCSE's re-selection formed them: {dict(marks.most_common())}")


def gcse(run: Path, generated: list[dict], checks: list[dict]) -> None:
    """The GCSE additions: extension sentences, style pools, neighbour-swap positives."""
    provs = sorted((run / "extension").glob("round-*/provenance-*.jsonl"))
    if provs:
        ext = [json.loads(x) for p in provs for x in p.read_text().splitlines() if x.strip()]
        made = {e["anchor_id"] for e in ext if e.get("text")}
        why = Counter(e["reason"] for e in ext if not e.get("text"))
        print(f"extension sentences: {len(made)} new anchors from {len(ext)} sources; not made: {dict(why)}")
        _facts("rows from extension anchors", [r for r in generated if r["anchor_id"] in made])
        _facts("rows from corpus anchors", [r for r in generated if r["anchor_id"] not in made])
        for path in ("main_parts", "entities"):  # GCSE's two extension paths (provenance "path")
            rows = [e for e in ext if e.get("path", "entities") == path and "fragments" in e]
            if not rows:
                continue
            ok = [e for e in rows if e.get("text")]
            kept = sum(e["fragments_kept"] for e in ok)
            whole = sum(e["fragments_kept"] == len(e["fragments"]) for e in ok)
            print(
                f"  {path} path: {len(ok)}/{len(rows)} made, fragments kept {kept}/"
                f"{sum(len(e['fragments']) for e in ok)} (all kept in {whole}), "
                f"swaps {sum(len(e['swaps']) for e in rows)}, not made: "
                f"{dict(Counter(e['reason'] for e in rows if not e.get('text')))}"
            )
            _facts(
                f"rows from {path}-path extension anchors",
                [r for r in generated if r["anchor_id"] in {e["anchor_id"] for e in ok}],
            )
    styles = _styles(generated)
    if any(styles.values()):
        pos_styled = [r for r in generated if "kg-style-pos-" in styles[r["id"]]]
        plain_para = [
            r
            for r, c in zip(generated, checks)
            if "kg-style-pos-" not in styles[r["id"]] and "kg_positive_neighbour_sim" not in c
        ]
        neg_styled = [r for r in generated if "kg-style-neg-" in styles[r["id"]]]
        neg_plain = [r for r in generated if r["negative_kind"] == "refute" and "kg-style-neg-" not in styles[r["id"]]]
        print("style pools (positives: styled vs plain paraphrases; negatives: styled vs plain refutations):")
        _facts("styled paraphrase positives", pos_styled, "p")
        _facts("plain paraphrase positives", plain_para, "p")
        _facts("styled refutations", neg_styled, "n")
        _facts("plain refutations", neg_plain, "n")
        print(f"  styles drawn: {dict(Counter(p for s in styles.values() for p in s.split(',') if p).most_common())}")
    nb = [r for r, c in zip(generated, checks) if "kg_positive_neighbour_sim" in c]
    if nb:
        sims = [c["kg_positive_neighbour_sim"] for c in checks if "kg_positive_neighbour_sim" in c]
        _facts(
            f"neighbour-swap positives (mean neighbour cos {sum(sims) / len(sims):.2f}, "
            f"{sum('kg_positive_from_edit' in c for c in checks)} taken from the edit)",
            nb,
            "p",
        )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "data/kg-domain"))
