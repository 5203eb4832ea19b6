"""Training sweeps the benches share: one arm (a set of objectives and their data) trained per (seed, learning
rate), evaluated on every set, resumable run by run.

`sweep` picks the learning rate on STS-B dev with the first seed and runs the other seeds at it, the protocol of
the train-from-scratch comparison (docs/benchmarks.md). A finished run leaves `<out>/<arm>-lr<lr>-seed<seed>/
run.json` with its figures and key; a rerun with the same key reads it instead of training again, so an
interrupted sweep resumes at its first unfinished run. Orchestration of datasets and reporting stays in bench/.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from trainers.evaluate import EvalSpec
from trainers.train import TrainSpec


def summarise(per_seed: list[dict[str, float | None]]) -> dict[str, dict[str, float | None]]:
    """{set: {mean, sd}} over seeds; sd is None with one seed, and a set missing in any seed stays missing."""
    out: dict[str, dict[str, float | None]] = {}
    for name in dict.fromkeys(k for s in per_seed for k in s):
        vals = [s.get(name) for s in per_seed]
        if any(v is None for v in vals):
            out[name] = {"mean": None, "sd": None}
            continue
        out[name] = {"mean": statistics.fmean(vals), "sd": statistics.stdev(vals) if len(vals) > 1 else None}
    return out


def run_key(ts: TrainSpec, es: EvalSpec, data: dict) -> dict:
    """What a finished run's figures depend on: its training and evaluation specs and its data's sizes."""
    return {
        "train": ts.model_dump(mode="json"),
        "evaluate": es.model_dump(mode="json"),
        "rows": {k: len(next(iter(cols.values()))) for k, (_, cols) in data.items()},
    }


def train_and_score(
    arm: str, data: dict, ts: TrainSpec, seed: int, lr: float, es: EvalSpec, out_root: Path
) -> dict[str, Any]:
    """One training run of an arm at (seed, lr), evaluated on every set; read back when finished earlier with
    the same key, trained again (and replaced) when the recipe or data changed."""
    from trainers import evaluate, model, train

    ts = ts.model_copy(update={"seed": seed, "learning_rate": lr})
    out_dir, key = out_root / f"{arm}-lr{lr:g}-seed{seed}", run_key(ts, es, data)
    record = out_dir / "run.json"
    if record.exists():
        done = json.loads(record.read_text(encoding="utf-8"))
        if done.get("key") == key:
            print(f"{arm} seed {seed} lr {lr:g}: finished earlier ({record})", flush=True)
            return done["run"]
        print(f"{arm} seed {seed} lr {lr:g}: {record} is from another recipe or dataset; training again", flush=True)
        record.unlink()
    res = train.fit(data, ts, out_dir)
    t1 = time.perf_counter()
    scores = evaluate.evaluate_model(model.build_model(str(res.model_dir), "keep", ts.max_seq_length), es)
    run = {
        "seed": seed,
        "lr": lr,
        "train_s": round(res.seconds, 1),
        "steps": res.steps,
        "rows": res.rows_per_objective,
        "dev_best_during_training": res.dev_best,
        "best_step": res.best_step,
        "scores": scores,
        "eval_s": round(time.perf_counter() - t1, 1),
    }
    record.write_text(json.dumps({"key": key, "run": run}, indent=2), encoding="utf-8")
    print(f"{arm} seed {seed} lr {lr:g}: {json.dumps(run)}", flush=True)
    return run


def sweep(
    arm: str, data: dict, ts: TrainSpec, es: EvalSpec, seeds: list[int], lrs: list[float], out_root: Path
) -> dict[str, Any]:
    """Each lr with the first seed, the best on STS-B dev kept, the other seeds at it; mean and sd per set."""
    first = [train_and_score(arm, data, ts, seeds[0], lr, es, out_root) for lr in lrs]
    best = max(first, key=lambda r: r["scores"]["stsb-dev"]) if len(first) > 1 else first[0]
    runs = [best] + [train_and_score(arm, data, ts, s, best["lr"], es, out_root) for s in seeds[1:]]
    per_seed = [r["scores"] for r in runs]
    return {
        "lr": best["lr"],
        "runs": runs,
        "per_seed": per_seed,
        "summary": summarise(per_seed),
        "lr_search": [{"lr": r["lr"], "stsb-dev": r["scores"]["stsb-dev"]} for r in first],
    }
