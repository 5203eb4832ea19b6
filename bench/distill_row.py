"""Distillation row beside unsupervised SimCSE on the same sentences (a small, same-run version of the scratch
comparison's setting: the raw SmolLM2-135M base, first 8 layers, mean pooling, dropout 0.1, lr 4e-4).

Sentences: the first N shipped SNLI premises (no generation). Arms, one seed each, no dev-based selection:
- base: the raw model, untrained;
- simcse_unsup: each premise is its own positive (dropout noise), in-batch negatives;
- distill_mse / distill_kl: pairs (premise_i, premise_pi(i)) with pi a fixed random permutation; the student
  matches all-MiniLM-L6-v2's cosines (mse: each row's own pair; distill_mse_in_batch: every anchor-candidate
  pair of the batch) or in-batch similarity distributions (kl). The teacher was trained on
  labelled pairs: a distilled result is "no new labels", not "no labels".
The raw base reads plain text (trainers/model.py drops an instruct base's chat template); every arm runs in the
same process with the same hyper-parameters, so the rows compare with each other, not with other sections.
Usage: OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/distill_row.py [--n 256] [--epochs 1] [--lr 4e-4]
       [--eval-max-pairs N]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--eval-max-pairs", type=int, default=None)
    ap.add_argument("--arms", default="base,simcse_unsup,distill_mse,distill_kl")
    ap.add_argument("--out", default="data/bench-distill")
    args = ap.parse_args()
    from pipelines.corpus import read_corpus
    from trainers.evaluate import EvalSpec, evaluate_model
    from trainers.losses.distill import DistillKLSpec, DistillMSESpec
    from trainers.losses.simcse_unsup import SimCSEUnsupSpec
    from trainers.model import build_model
    from trainers.train import TrainSpec, fit

    sents = [a.text for a in read_corpus("builtin:snli-premises", limit=args.n).anchors]
    perm = list(range(len(sents)))
    random.Random(13).shuffle(perm)
    other = [sents[j] if j != i else sents[(i + 1) % len(sents)] for i, j in enumerate(perm)]
    ts = TrainSpec(
        base_model="embedded:smollm2-135m-instruct",
        pooler="mean",
        base_layers=8,
        max_seq_length=32,
        encoder_dropout=0.1,
        epochs=args.epochs,
        batch_size=16,
        learning_rate=args.lr,
        seed=13,
    )
    es = EvalSpec(sets=["stsb-dev", "stsb-test"], max_pairs=args.eval_max_pairs)
    data = {
        "simcse_unsup": {"simcse_unsup": (SimCSEUnsupSpec(), {"anchor": sents, "positive": list(sents)})},
        "distill_mse": {"distill_mse": (DistillMSESpec(), {"anchor": sents, "positive": other})},
        "distill_kl": {"distill_kl": (DistillKLSpec(), {"anchor": sents, "positive": other})},
        "distill_mse_in_batch": {
            "distill_mse": (DistillMSESpec(pairs="in_batch"), {"anchor": sents, "positive": other})
        },
    }
    results = {}
    for arm in args.arms.split(","):
        t0 = time.perf_counter()
        if arm == "base":
            model, steps = build_model(ts.base_model, "mean", 32, base_layers=8), 0
        else:
            res = fit(data[arm], ts, Path(args.out) / arm)
            model, steps = build_model(str(res.model_dir), "keep", 32), res.steps
        train_s = time.perf_counter() - t0
        scores = evaluate_model(model, es)
        results[arm] = {
            "scores": scores,
            "steps": steps,
            "train_s": round(train_s, 1),
            "eval_s": round(time.perf_counter() - t0 - train_s, 1),
        }
        print(arm, json.dumps(results[arm]), flush=True)
    print(
        f"\n{len(sents)} premises; STS-B Spearman x100"
        + (f" on {args.eval_max_pairs} pairs per set" if args.eval_max_pairs else " (full dev/test)")
    )
    print("| arm | stsb-dev | stsb-test | steps | train s | eval s |\n|---|---|---|---|---|---|")
    for arm, r in results.items():
        s = r["scores"]
        print(f"| {arm} | {s['stsb-dev']:.1f} | {s['stsb-test']:.1f} | {r['steps']} | {r['train_s']} | {r['eval_s']} |")


if __name__ == "__main__":
    main()
