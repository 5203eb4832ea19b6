"""Train-from-scratch comparison (issue 7): one raw base encoder, the same sentences, four encoders, one STS table.

    .venv/bin/python bench/scratch_comparison.py [--recipe recipes/scratch-comparison.toml] [--eval-max-pairs N]

Arms, all from the recipe's [train] base/pooler/hyper-parameters (only the objectives differ):
  base          the raw base (e.g. SmolLM2-135M, mean pooling), no training
  unsup-simcse  unsupervised SimCSE (dropout positives) on the distinct anchors of the dataset
  synth-pairs   the recipe's objectives (InfoNCE + hard negatives) on the synthetic pairs
  synth-full    pairs + judge scores (CoSENT) + ranked lists (ListMLE); skipped, and said so, when the
                dataset has no scores or ranked lists (the judge / ranked tasks did not run)
Generation and curation run through the flows when the run's dataset is absent (resumable). Prints one
Markdown table (Spearman x100 of cosine, "missing" = eval files absent) with wall times, and writes
<run>/eval/scratch_comparison.{json,md}.
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


def arms(rows, recipe) -> dict[str, list | str]:
    """{arm: [(objective spec, columns)] or a reason it cannot run}."""
    from trainers.losses.listmle import ListMLESpec
    from trainers.losses.scored import CoSENTSpec
    from trainers.losses.simcse_unsup import SimCSEUnsupSpec, sentence_columns
    from trainers.train import training_columns

    if rows is None:  # only the arms that need no synthetic data
        return {"unsup-simcse": [(SimCSEUnsupSpec(), sentence_columns(anchor_sentences(recipe)))]}

    def usable(spec):
        cols = training_columns(rows, spec)
        n = len(next(iter(cols.values()))) if cols else 0
        return (spec, cols) if n >= 2 else None

    out: dict[str, list | str] = {
        "unsup-simcse": [(SimCSEUnsupSpec(), sentence_columns(anchor_sentences(recipe)))]}
    pairs = [p for p in (usable(o) for o in recipe.train.objectives) if p]
    out["synth-pairs"] = pairs or "no rows usable by the recipe's objectives"
    extra, missing = [], []
    lengths = [len(r["ranked"]) for r in rows if r.get("ranked")]
    for spec, what in ((CoSENTSpec(), "judge scores"),
                       (ListMLESpec(list_size=max(2, min(lengths)) if lengths else 2), "ranked lists")):
        u = usable(spec)
        (extra.append(u) if u else missing.append(what))
    out["synth-full"] = pairs + extra if not missing else \
        f"dataset has no {' and no '.join(missing)} (judge/ranked tasks not in this run)"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default=str(ROOT / "recipes" / "scratch-comparison.toml"))
    ap.add_argument("--set", action="append", default=[], help="recipe override, e.g. train.epochs=1")
    ap.add_argument("--eval-max-pairs", type=int, default=None, help="first N pairs of each eval set (quick run)")
    ap.add_argument("--arms", default="base,unsup-simcse,synth-pairs,synth-full")
    ap.add_argument("--tag", default=None, help="suffix of the output files (runs of separate arms)")
    args = ap.parse_args()

    from flows.recipe import load_recipe
    from pipelines.dataset import read_dataset_rows
    from trainers.evaluate import EvalSpec, evaluate_model
    from trainers.model import build_model
    from trainers.train import fit

    recipe = load_recipe(args.recipe, args.set)
    ts, es = recipe.train, recipe.evaluate or EvalSpec()
    if args.eval_max_pairs:
        es = es.model_copy(update={"max_pairs": args.eval_max_pairs})
    wanted = args.arms.split(",")
    needs_data = bool(set(wanted) - {"base", "unsup-simcse"})
    rows = read_dataset_rows(ensure_dataset(recipe)) if needs_data else None
    plan = arms(rows, recipe)
    results: dict[str, dict] = {}
    out_root = recipe.run_dir / "scratch"
    for arm in wanted:
        t0 = time.perf_counter()
        info: dict = {}
        if arm == "base":
            model = build_model(ts.base_model, ts.pooler, ts.max_seq_length, base_layers=ts.base_layers)
        else:
            todo = plan.get(arm)
            if isinstance(todo, str) or not todo:
                results[arm] = {"skipped": todo or "unknown arm"}
                print(f"{arm}: skipped ({todo})", flush=True)
                continue
            data = {spec.name: (spec, cols) for spec, cols in todo}
            res = fit(data, ts, out_root / arm)
            model = build_model(str(res.model_dir), "keep", ts.max_seq_length)
            info = {"train_s": round(res.seconds, 1), "steps": res.steps, "rows": res.rows_per_objective,
                    "dev_best_during_training": res.dev_best, "best_step": res.best_step}
        t1 = time.perf_counter()
        scores = evaluate_model(model, es)
        info.update(scores=scores, eval_s=round(time.perf_counter() - t1, 1), total_s=round(time.perf_counter() - t0, 1))
        results[arm] = info
        print(f"{arm}: {json.dumps(info)}", flush=True)

    sets = list(dict.fromkeys(s for r in results.values() for s in r.get("scores", {})))
    lines = ["| arm | " + " | ".join(sets) + " | train s | eval s | steps | rows |",
             "|---|" + "---|" * (len(sets) + 4)]
    for arm, r in results.items():
        if "skipped" in r:
            lines.append(f"| {arm} | skipped: {r['skipped']} |" + " |" * (len(sets) + 3))
            continue
        cells = ["missing" if r["scores"].get(s) is None else f"{r['scores'][s]:.2f}" for s in sets]
        lines.append(f"| {arm} | " + " | ".join(cells) + f" | {r.get('train_s', 0)} | {r['eval_s']} | "
                     f"{r.get('steps', 0)} | {r.get('rows', '')} |")
    anchors = len(anchor_sentences(recipe))
    header = (f"base {ts.base_model} ({ts.pooler} pooling, first {ts.base_layers or 'all'} layers), "
              f"{anchors} anchors, {len(rows) if rows is not None else '-'} kept rows, "
              f"epochs {ts.epochs}, batch {ts.batch_size}, lr {ts.learning_rate}, max_seq {ts.max_seq_length}; "
              f"{platform.machine()} {os.cpu_count()} cores")
    md = header + "\n\n" + "\n".join(lines) + "\n"
    print(md)
    stem = "scratch_comparison" + ("" if args.tag is None else f"-{args.tag}")
    (recipe.run_dir / "eval").mkdir(parents=True, exist_ok=True)
    (recipe.run_dir / "eval" / f"{stem}.md").write_text(md, encoding="utf-8")
    (recipe.run_dir / "eval" / f"{stem}.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
