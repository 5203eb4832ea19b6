"""Train-from-scratch comparison (issue 7): one raw base encoder, the same sentences, several encoders, one STS table.

    .venv/bin/python bench/scratch_comparison.py [--recipe R] [--lr-grid 4e-4,8e-4] [--seeds 42,1,2] [--tag T]

Arms, all from the recipe's [train] base/pooler/hyper-parameters (only the objectives differ):
  base          the raw base (e.g. SmolLM2-135M, mean pooling), no training
  unsup-simcse  unsupervised SimCSE (dropout positives) on the distinct anchors of the dataset
  synth-pairs   the recipe's objectives (InfoNCE + hard negatives) on the synthetic pairs
  synth-ranked  pairs + ranked lists (ListMLE): the lists' contribution without the judge's scores
  synth-full    pairs + judge scores (CoSENT) + ranked lists (ListMLE)
An arm whose data the dataset lacks (no judge / ranked task in the run) is skipped, and the table says why.
Every trained arm runs once per seed (`--seeds`, default the recipe's train.seed); the table shows the mean
and, with several seeds, the sample standard deviation. Generation and curation run through the flows when
the run's dataset is absent (resumable). Prints one Markdown table (Spearman x100 of cosine; sets missing
on this machine are listed once instead of as empty columns) with wall times, and writes
<run>/eval/scratch_comparison[-tag].{json,md} with every seed's scores; each finished run keeps its run.json (resume).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def ensure_dataset(recipe) -> Path:
    ds = recipe.run_dir / "dataset"
    if not (ds / "data").exists():
        from flows.curate import curate
        from flows.env import configure_prefect
        from flows.synthesize import synthesize

        configure_prefect()
        t0 = time.perf_counter()
        synthesize(recipe)
        curate(recipe)
        print(f"generated + curated in {time.perf_counter() - t0:.0f}s -> {ds}", flush=True)
    return ds


def anchor_sentences(recipe) -> list[str]:
    """The sentences the generator was given (the run's anchor shards): unsupervised SimCSE trains on these."""
    import pyarrow.parquet as pq

    files = sorted((recipe.run_dir / "anchors").glob("shard-*.parquet"))
    if not files:
        from flows.env import configure_prefect
        from flows.synthesize import prepare_anchors

        configure_prefect()
        prepare_anchors(recipe)
        files = sorted((recipe.run_dir / "anchors").glob("shard-*.parquet"))
    return [t for f in files for t in pq.read_table(f, columns=["text"]).column("text").to_pylist()]


ARMS = ("base", "unsup-simcse", "synth-pairs", "synth-ranked", "synth-full")


def arms(rows, recipe) -> dict[str, list | str]:
    """{arm: [(objective spec, columns)] or the reason it cannot run}."""
    from trainers.losses.listmle import ListMLESpec
    from trainers.losses.scored import CoSENTSpec
    from trainers.losses.simcse_unsup import SimCSEUnsupSpec, sentence_columns
    from trainers.train import training_columns

    out: dict[str, list | str] = {"unsup-simcse": [(SimCSEUnsupSpec(), sentence_columns(anchor_sentences(recipe)))]}
    if rows is None:  # only the arms that need no synthetic data
        return out

    def usable(spec):
        cols = training_columns(rows, spec)
        n = len(next(iter(cols.values()))) if cols else 0
        return (spec, cols) if n >= 2 else None

    pairs = [p for p in (usable(o) for o in recipe.train.objectives) if p]
    out["synth-pairs"] = pairs or "no rows usable by the recipe's objectives"
    lengths = [len(r["ranked"]) for r in rows if r.get("ranked")]
    ranked = usable(ListMLESpec(list_size=max(2, min(lengths)) if lengths else 2))
    scores = usable(CoSENTSpec())
    out["synth-ranked"] = pairs + [ranked] if pairs and ranked else "dataset has no ranked lists"
    missing = [what for what, u in (("judge scores", scores), ("ranked lists", ranked)) if u is None]
    out["synth-full"] = (
        pairs + [scores, ranked]
        if pairs and not missing
        else f"dataset has no {' and no '.join(missing) or 'pairs'} (judge/ranked tasks not in this run)"
    )
    return out


def table(results: dict[str, dict]) -> tuple[list[str], list[str]]:
    """Markdown rows of the arms, and the sets that are missing everywhere (named once, not as columns)."""
    sets = list(dict.fromkeys(s for r in results.values() for s in r.get("summary", {})))
    shown = [s for s in sets if any(r.get("summary", {}).get(s, {}).get("mean") is not None for r in results.values())]
    lines = [
        "| arm | " + " | ".join(shown) + " | lr | seeds | steps | train s (mean) | rows |",
        "|---|" + "---|" * (len(shown) + 5),
    ]
    for arm, r in results.items():
        if "skipped" in r:
            lines.append(f"| {arm} | skipped: {r['skipped']} |" + " |" * (len(shown) + 4))
            continue
        cells = []
        for s in shown:
            m = r["summary"][s]
            cells.append(
                "missing"
                if m["mean"] is None
                else f"{m['mean']:.2f}" + ("" if m["sd"] is None else f" ± {m['sd']:.2f}")
            )
        runs = r.get("runs", [])
        train_s = round(sum(x["train_s"] for x in runs) / len(runs), 1) if runs else 0
        steps = runs[0]["steps"] if runs else 0
        rows = runs[0]["rows"] if runs else ""
        lr = f"{r['lr']:g}" if r.get("lr") is not None else "-"
        lines.append(
            f"| {arm} | " + " | ".join(cells) + f" | {lr} | {len(runs) or '-'} | {steps} | {train_s} | {rows} |"
        )
    return lines, [s for s in sets if s not in shown]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default=str(ROOT / "recipes" / "scratch-comparison.toml"))
    ap.add_argument("--set", action="append", default=[], help="recipe override, e.g. train.epochs=1")
    ap.add_argument("--eval-max-pairs", type=int, default=None, help="N pairs spread over each eval set (quick run)")
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--seeds", default=None, help="training seeds, comma-separated (default: the recipe's)")
    ap.add_argument(
        "--lr-grid",
        default=None,
        help="learning rates, comma-separated: each trained arm tries them all with the first seed, "
        "keeps the best on STS-B dev, and runs the other seeds at it (default: the recipe's)",
    )
    ap.add_argument(
        "--tag",
        default=None,
        help="suffix of the output files and the models' folder (an ablation beside the main runs)",
    )
    args = ap.parse_args()

    from flows.recipe import load_recipe
    from pipelines.dataset import read_dataset_rows
    from trainers.evaluate import EvalSpec, evaluate_model, expand_sets
    from trainers.model import build_model
    from trainers.sweep import summarise, sweep

    recipe = load_recipe(args.recipe, args.set)
    ts, es = recipe.train, recipe.evaluate or EvalSpec()
    if args.eval_max_pairs:
        es = es.model_copy(update={"max_pairs": args.eval_max_pairs})
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [ts.seed]
    lrs = [float(x) for x in args.lr_grid.split(",")] if args.lr_grid else [ts.learning_rate]
    if len(lrs) > 1 and "stsb-dev" not in expand_sets(es.sets):
        ap.error("--lr-grid selects on STS-B dev: add stsb-dev to [evaluate] sets")
    wanted = args.arms.split(",")
    unknown = [a for a in wanted if a not in ARMS]
    if unknown:
        ap.error(f"unknown arm(s) {unknown}; known: {', '.join(ARMS)}")
    needs_data = bool(set(wanted) - {"base", "unsup-simcse"})
    rows = read_dataset_rows(ensure_dataset(recipe)) if needs_data else None
    plan = arms(rows, recipe)
    results: dict[str, dict] = {}
    out_root = recipe.run_dir / ("scratch" if args.tag is None else f"scratch-{args.tag}")
    for arm in wanted:
        if arm == "base":
            t0 = time.perf_counter()
            model = build_model(ts.base_model, ts.pooler, ts.max_seq_length, base_layers=ts.base_layers)
            scores = evaluate_model(model, es)
            results[arm] = {
                "runs": [],
                "per_seed": [scores],
                "summary": summarise([scores]),
                "eval_s": round(time.perf_counter() - t0, 1),
            }
            print(f"{arm}: {json.dumps(scores)}", flush=True)
            continue
        todo = plan.get(arm)
        if isinstance(todo, str) or not todo:
            results[arm] = {"skipped": todo or "unknown arm"}
            print(f"{arm}: skipped ({todo})", flush=True)
            continue
        results[arm] = sweep(arm, {spec.name: (spec, cols) for spec, cols in todo}, ts, es, seeds, lrs, out_root)

    lines, missing = table(results)
    anchors = len(anchor_sentences(recipe))
    header = (
        f"base {ts.base_model} ({ts.pooler} pooling, first {ts.base_layers or 'all'} layers), "
        f"{anchors} anchors, {len(rows) if rows is not None else '-'} kept rows, "
        f"epochs {ts.epochs}, batch {ts.batch_size}, "
        + (
            f"lr per arm from {{{', '.join(f'{x:g}' for x in lrs)}}} on STS-B dev (seed {seeds[0]}), "
            if len(lrs) > 1
            else f"lr {lrs[0]:g}, "
        )
        + f"max_seq {ts.max_seq_length}, "
        f"encoder dropout {ts.encoder_dropout}, seeds {','.join(map(str, seeds))}; "
        f"{platform.machine()} {os.cpu_count()} cores"
        + (f"; missing on this machine: {', '.join(missing)}" if missing else "")
    )
    md = header + "\n\n" + "\n".join(lines) + "\n"
    print(md)
    stem = "scratch_comparison" + ("" if args.tag is None else f"-{args.tag}")
    (recipe.run_dir / "eval").mkdir(parents=True, exist_ok=True)
    (recipe.run_dir / "eval" / f"{stem}.md").write_text(md, encoding="utf-8")
    (recipe.run_dir / "eval" / f"{stem}.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
