"""Shards/s of the `ray` executor (prefect-ray RayTaskRunner, local 2-CPU Ray instance, 2 workers) against the
`local` executor on the same tiny recipe, measured in one process, one after the other.

    .venv/bin/python bench/ray_vs_local.py [--shards 4] [--anchors 2]

Both timings are the whole `synthesize` flow call, cold: local includes its one model load; ray includes
starting Ray and one model load per worker. On a 2-core machine Ray cannot win: two workers share the same
two cores the local executor already uses (torch runs 2 threads), so the ratio shows Ray's overhead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="bench-prefect-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from flows.env import configure_prefect  # noqa: E402

configure_prefect()

TOML = """
name = "bench-{kind}"
output_dir = "{out}"
seed = 13
[corpus]
limit = {limit}
shard_size = {anchors}
[sampling]
max_tokens = 16
[[tasks]]
name = "pairs"
exemplars = 0
[executor]
kind = "{kind}"
workers = 2
object_store_mb = 200
"""


def timed_run(kind: str, shards: int, anchors: int, root: Path) -> float:
    from flows.recipe import load_recipe
    from flows.synthesize import synthesize

    path = root / f"{kind}.toml"
    path.write_text(TOML.format(kind=kind, out=(root / kind).as_posix(), limit=shards * anchors, anchors=anchors))
    recipe = load_recipe(path)
    t0 = time.perf_counter()
    synthesize(recipe)
    elapsed = time.perf_counter() - t0
    assert len(list((root / kind / "generated" / "pairs").glob("shard-*.parquet"))) == shards
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--anchors", type=int, default=2)
    ap.add_argument(
        "--order",
        default="local,ray,local",
        help="runs in this order; A-B-A brackets the ray run against load drift on a shared machine",
    )
    args = ap.parse_args()
    out: dict = {"shards": args.shards, "anchors_per_shard": args.anchors, "cpus": os.cpu_count(), "runs": []}
    for i, kind in enumerate(args.order.split(",")):
        load = os.getloadavg()[0]
        s = timed_run(kind, args.shards, args.anchors, Path(tempfile.mkdtemp(prefix=f"bench-ray-{i}-")))
        out["runs"].append(
            {
                "executor": kind,
                "seconds": round(s, 1),
                "shards_per_s": round(args.shards / s, 4),
                "load_avg_1min_before": round(load, 1),
            }
        )
    best = {
        k: max(r["shards_per_s"] for r in out["runs"] if r["executor"] == k)
        for k in ("local", "ray")
        if any(r["executor"] == k for r in out["runs"])
    }
    if len(best) == 2:
        out["ray_over_local_best_shards_per_s"] = round(best["ray"] / best["local"], 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":  # Ray spawns processes
    main()
