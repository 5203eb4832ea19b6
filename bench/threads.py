"""Torch CPU threads when two processes share the cores (the test suite's two xdist workers, or a CLI run beside
another job): the embedded SmolLM2 generates the same 12 requests under each OpenMP setting, with `--together N`
copies of the child running at once, and prints wall and CPU seconds with the ratio to the default setting
(measured in the same run).

    .venv/bin/python bench/threads.py --together 2

Why: libgomp's default wait policy spins on every barrier; when there are more busy threads than cores, the
spinning threads take the cores from the ones doing the work.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {  # name -> environment added to the child's
    "default": {},
    "1 thread": {"OMP_NUM_THREADS": "1"},
    "passive wait": {"OMP_WAIT_POLICY": "PASSIVE"},
    "1 thread, passive wait": {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"},
}


def child(requests: int, max_tokens: int) -> dict:
    sys.path.insert(0, str(ROOT))
    import torch

    from synth.backends import TransformersSpec, get_backend
    from synth.backends.base import Request, Sampling

    backend = get_backend(TransformersSpec(batch_size=16))
    reqs = [
        Request(
            messages=[{"role": "user", "content": f"Paraphrase: a man number {i} rides a horse."}],
            sampling=Sampling(max_tokens=max_tokens, temperature=0.7, top_p=0.9, seed=i),
        )
        for i in range(requests)
    ]
    backend.generate(reqs[:2])  # warm-up
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    backend.generate(reqs)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "threads": torch.get_num_threads(),
        "wall": time.perf_counter() - t0,
        "cpu": r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime,
    }


def run_setting(env: dict[str, str], together: int, requests: int, max_tokens: int) -> list[dict]:
    cmd = [sys.executable, __file__, "--child", "--requests", str(requests), "--max-tokens", str(max_tokens)]
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    procs = [
        subprocess.Popen(cmd, env={**base, **env}, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for _ in range(together)
    ]
    return [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--together", type=int, default=2, help="children running at once")
    ap.add_argument("--requests", type=int, default=12)
    ap.add_argument("--max-tokens", type=int, default=24)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.requests, args.max_tokens)))
        return
    print(f"cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}, {args.together} children at once", flush=True)
    base = None
    for name, env in SETTINGS.items():
        res = run_setting(env, args.together, args.requests, args.max_tokens)
        wall = max(r["wall"] for r in res)
        cpu = sum(r["cpu"] for r in res)
        base = base or wall
        print(
            f"{name:24s} threads {res[0]['threads']}  wall {wall:6.1f} s  cpu {cpu:6.1f} s  "
            f"x{base / wall:5.1f} vs default  (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
