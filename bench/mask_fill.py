"""CLAIF mask-and-fill figures: kept fraction and mean judge score per mask rate (recipes/mask-fill.toml).

Runs the real synthesize + curate flows (embedded SmolLM2 fills and judges), then reads the curated dataset:
per rate, how many fills were written, how many survived parsing (CLAIF's post-processing rules), how many the
filters kept, and the judge's mean 0-5 score of (original, filled) over kept rows.
Usage: PYTHONPATH=. .venv/bin/python bench/mask_fill.py [--set corpus.limit=16 ...]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipe", default=str(ROOT / "recipes" / "mask-fill.toml"))
    ap.add_argument("--set", action="append", default=[])
    args = ap.parse_args()
    from flows.curate import curate
    from flows.recipe import load_recipe
    from flows.synthesize import synthesize
    from pipelines.dataset import read_dataset_rows

    recipe = load_recipe(args.recipe, args.set)
    t0 = time.perf_counter()
    synthesize(recipe)
    curate(recipe)
    wall = time.perf_counter() - t0
    ds = recipe.run_dir / "dataset"
    rows = [r for r in read_dataset_rows(ds) + read_dataset_rows(ds, "rejects") if r["task"] == "mask_fill"]
    by: dict[float, list[dict]] = defaultdict(list)
    for r in rows:
        by[dict((c["name"], c["value"]) for c in r["checks"])["mask_rate"]].append(r)
    print(f"{len(rows)} fills, {wall:.0f} s (synthesize + curate)")
    print("| mask rate | fills | parsed | kept | kept fraction | mean judge score (kept) | top reject |")
    print("|---|---|---|---|---|---|---|")
    for rate in sorted(by):
        rs = by[rate]
        parsed = [r for r in rs if not (r["reason"] or "").startswith("parse:mask_fill")]
        kept = [r for r in rs if r["kept"]]
        scores = [r["pair_score"] for r in kept if r["pair_score"] is not None]
        reasons = defaultdict(int)
        for r in rs:
            if not r["kept"]:
                reasons[r["reason"]] += 1
        top = max(reasons, key=reasons.get) if reasons else "-"
        mean = f"{sum(scores) / len(scores):.2f}" if scores else "-"
        print(f"| {rate:.1f} | {len(rs)} | {len(parsed)} | {len(kept)} | {len(kept) / len(rs):.2f} | {mean} | {top} |")


if __name__ == "__main__":
    main()
