"""Scale: N synthetic generated `pairs` rows through the real curate stage (rules, dedup, decontam) over Arrow
batches, with wall time, rows/s per stage and peak RSS; optionally the whole-list curate on the first rows
as the baseline measured in the same run.

No LLM: anchors are real sentences of the shipped corpora (SNLI premises, PubMedQA sentences), positives the
anchor with a word dropped and two swapped, negatives another corpus sentence; planted: 4 % exact duplicates
of an earlier row, 4 % near duplicates (" again" appended to the positive), 1 % positives copying the anchor,
1 % negatives that are STS-B test sentences. Rows are written as generated shards of a planned run
(`<workdir>/generated/pairs/shard-*.parquet`, listed explicitly), then curated in a child process, so the peak
RSS reported is the curate stage's alone.

    .venv/bin/python bench/scale.py --rows 100000 --json /tmp/scale-100k.json --baseline-rows 10000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow as pa  # noqa: E402
from synthetic import perturb  # noqa: E402

from pipelines.schema import SCHEMA, SCHEMA_VERSION  # noqa: E402
from pipelines.shards import shard_path, write_table_atomic  # noqa: E402
from synth.records import content_id  # noqa: E402

CORPORA = [
    ROOT / "pipelines/corpora/snli-premises/snli_premises.txt",
    ROOT / "pipelines/corpora/pubmedqa-sentences/pubmedqa_sentences.txt",
]
PROV = {
    "backend": "bench",
    "model": "none",
    "model_hash": "0",
    "prompt_ids": [],
    "exemplar_ids": [],
    "seed": 0,
    "sample_index": 0,
    "temperature": 0.7,
    "top_p": 0.9,
    "max_tokens": 48,
    "recipe_hash": "scale",
    "schema_version": SCHEMA_VERSION,
}


def write_generated(n: int, directory: Path, shard_rows: int, seed: int = 0) -> list[Path]:
    """n rows in shards of shard_rows; memory holds one shard and the last 50k texts (for duplicates)."""
    from pipelines.filters.evalsets import stsb_sentences

    rng = random.Random(seed)
    sents = [ln.strip() for p in CORPORA for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    rng.shuffle(sents)
    stsb = stsb_sentences("test")
    recent: deque[tuple[str, str, str]] = deque(maxlen=50_000)
    paths = []
    for s_i, start in enumerate(range(0, n, shard_rows)):
        rows = []
        for i in range(start, min(n, start + shard_rows)):
            roll = rng.random()
            if recent and roll < 0.04:
                a, p, neg = rng.choice(recent)  # exact duplicate (another id)
            elif recent and roll < 0.08:
                a, p, neg = rng.choice(recent)
                p += " again"  # near duplicate
            else:
                a = sents[i % len(sents)]
                p, neg = perturb(a, rng), sents[(i * 7 + 3 + i // len(sents)) % len(sents)]
                if roll > 0.99:
                    neg = rng.choice(stsb)  # contamination
                elif roll > 0.98:
                    p = a  # copy of the anchor
                recent.append((a, p, neg))
            anchor_id = content_id("anchor", a)
            rows.append(
                {
                    "id": content_id("pairs", anchor_id, None, [], [], i, 0),
                    "task": "pairs",
                    "anchor_id": anchor_id,
                    "anchor": a,
                    "positive": p,
                    "negative": neg,
                    "negative_kind": "corpus",
                    "scores": [],
                    "checks": [],
                    "entities": [],
                    "quantities": [],
                    "raw": [],
                    "provenance": {**PROV, "seed": i, "shard": f"shard-{s_i:05d}"},
                    "verdicts": [],
                    "kept": True,
                }
            )
        table = pa.Table.from_pylist(rows, schema=SCHEMA)
        paths.append(write_table_atomic(table, shard_path(directory, s_i, f"scale{s_i}")))
    return paths


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def curate_child(shards: list[str], out_dir: str, mode: str, batch_rows: int) -> dict:
    """Runs in the child process: the curate stage alone, timed, with its own peak RSS."""
    from pipelines.filters import build_filter
    from pipelines.filters.decontam import DecontamSpec
    from pipelines.filters.dedup import DedupSpec
    from pipelines.filters.rules import RulesSpec

    t0 = time.perf_counter()
    filters = [build_filter(s) for s in (RulesSpec(), DedupSpec(), DecontamSpec())]
    if mode == "stream":
        from pipelines.curate_stream import curate_stream

        summary, stats = curate_stream([Path(p) for p in shards], filters, Path(out_dir), batch_rows=batch_rows)
    else:  # today's whole-list path: every row as a dict, then the dataset from the list
        import pyarrow.parquet as pq

        from pipelines.curate import apply_filters
        from pipelines.dataset import write_dataset

        rows = [r for p in shards for r in pq.read_table(p).to_pylist()]
        stats = apply_filters(rows, filters)
        summary = write_dataset(rows, stats, Path(out_dir))
    seconds = time.perf_counter() - t0
    use = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "rows": summary["rows"],
        "kept": summary["kept"],
        "rejected": summary["rejected"],
        "seconds": round(seconds, 2),
        "cpu_seconds": round(use.ru_utime + use.ru_stime, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rejects_by_reason": summary["rejects_by_reason"],
        "stages": {
            s.stage: {
                "rows_in": s.rows_in,
                "rows_out": s.rows_out,
                "seconds": round(s.seconds, 2),
                "rows_per_s": round(s.rows_in / s.seconds) if s.seconds > 0 else None,
            }
            for s in stats
        },
    }


def run_child(shards: list[Path], out_dir: Path, mode: str, batch_rows: int) -> dict:
    with tempfile.NamedTemporaryFile("r", suffix=".json") as f:
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--child-out",
                f.name,
                "--batch-rows",
                str(batch_rows),
                "--out-dir",
                str(out_dir),
                *map(str, shards),
            ],
            check=True,
        )
        return json.loads(Path(f.name).read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--shard-rows", type=int, default=20_000, help="rows per generated shard")
    ap.add_argument("--batch-rows", type=int, default=4096, help="rows per Arrow batch in curate")
    ap.add_argument(
        "--baseline-rows",
        type=int,
        default=0,
        help="also curate the first shards holding this many rows with today's whole-list path",
    )
    ap.add_argument("--workdir", type=Path, help="keep the run here (default: a temp dir, removed)")
    ap.add_argument("--child", choices=["stream", "whole"], help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    ap.add_argument("--out-dir", help=argparse.SUPPRESS)
    ap.add_argument("shards", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        Path(args.child_out).write_text(
            json.dumps(curate_child(args.shards, args.out_dir, args.child, args.batch_rows))
        )
        return
    tmp = None if args.workdir else tempfile.TemporaryDirectory(prefix="csynth-scale-")
    run = args.workdir or Path(tmp.name)  # type: ignore[union-attr]
    t0 = time.perf_counter()
    shards = write_generated(args.rows, run / "generated" / "pairs", args.shard_rows)
    gen_s = time.perf_counter() - t0
    load_start = os.getloadavg()
    result = {
        **run_child(shards, run / "dataset", "stream", args.batch_rows),
        "generate_seconds": round(gen_s, 1),
        "batch_rows": args.batch_rows,
        "load": {"start": load_start, "end": os.getloadavg()},
    }
    print(
        f"{result['rows']:,} rows: curate {result['seconds']:.1f}s ({result['cpu_seconds']:.1f} CPU s), peak RSS "
        f"{result['peak_rss_mb']:.0f} MB, kept {result['kept']:,} (shards written in {gen_s:.1f}s, load "
        f"{load_start[0]:.1f} -> {result['load']['end'][0]:.1f})"
    )
    for name, s in result["stages"].items():
        print(f"  {name}: {s['rows_in']:,} in, {s['rows_out']:,} kept, {s['rows_per_s'] or '-'} rows/s")
    if args.baseline_rows:
        first = shards[: max(1, -(-args.baseline_rows // args.shard_rows))]
        base = run_child(first, run / "dataset-whole", "whole", args.batch_rows)
        mine = run_child(first, run / "dataset-stream", "stream", args.batch_rows)
        result["baseline"] = {
            "whole_list": base,
            "stream": mine,
            "speedup": round(base["seconds"] / mine["seconds"], 2),
            "rss_ratio": round(mine["peak_rss_mb"] / base["peak_rss_mb"], 2),
        }
        print(
            f"baseline on {base['rows']:,} rows: whole-list {base['seconds']:.1f}s / {base['peak_rss_mb']:.0f} MB,"
            f" stream {mine['seconds']:.1f}s / {mine['peak_rss_mb']:.0f} MB: x{result['baseline']['speedup']} "
            f"faster, same decisions: {base['rejects_by_reason'] == mine['rejects_by_reason']}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
