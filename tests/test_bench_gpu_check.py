"""bench/gpu_check.py --cpu --tiny, as CI runs it: only torch/transformers/sentence-transformers importable
(vLLM, Prefect and the project's own packages blocked, hub offline), every objective's loss falls at fp32 and
bf16, the generation rows report tokens/s, and one table is printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "gpu_check.py"
BLOCKED = ("vllm", "prefect", "synth", "flows", "trainers", "pipelines", "ray")
RUNNER = """
import runpy, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {blocked!r}:
            raise ImportError('gpu_check must not import ' + name)
sys.meta_path.insert(0, Block())
sys.argv = [{script!r}, '--cpu', '--tiny', '--json', 'rows.json']
runpy.run_path({script!r}, run_name='__main__')
"""


@pytest.mark.slow
def test_gpu_check_cpu_tiny_on_a_bare_image(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    code = RUNNER.format(blocked=BLOCKED, script=str(SCRIPT))
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    rows = json.loads((tmp_path / "rows.json").read_text())["rows"]
    trained = {(r["row"], r["precision"]) for r in rows if r["row"].startswith("train")}
    assert trained == {
        (f"train {o}", p) for o in ("infonce", "simcse_unsup", "cosent", "angle") for p in ("fp32", "bf16")
    }
    assert all(r["loss_falls"] and r["loss_last"] < r["loss_first"] for r in rows if r["row"].startswith("train"))
    assert all(r["steps_per_s"] > 0 and r["peak_mib"] > 0 for r in rows if r["row"].startswith("train"))
    gen = [r for r in rows if r["row"].startswith("generate")]
    assert len(gen) == 2 and all(r["tokens_per_s"] > 0 and r["new_tokens"] == 8 * 16 for r in gen)
    assert res.stdout.count("| row | precision |") == 1  # one table
