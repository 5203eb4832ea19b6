"""`[train] device` / `precision`: checked before any work starts, followed by training and evaluation, and
recorded with the peak memory; nothing on the training/evaluation path is pinned to CPU."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from flows.cli import app
from trainers.device import DeviceError, resolve
from trainers.train import TrainSpec, train

ROOT = Path(__file__).resolve().parents[2]
RECIPE = 'name = "t"\n[corpus]\nlimit = 2\n[sampling]\nmax_tokens = 8\n[[tasks]]\nname = "pairs"\n'
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")


@NO_CUDA
@pytest.mark.parametrize("command", ["run", "train"])
def test_cuda_recipe_fails_before_any_work(tmp_path, command):
    p = tmp_path / "r.toml"
    out_dir = tmp_path / "out"
    p.write_text(RECIPE + '[train]\ndevice = "cuda"\n', encoding="utf-8")
    res = CliRunner().invoke(app, [command, str(p), "--set", f'output_dir="{out_dir}"'])
    out = " ".join(res.output.split())
    assert res.exit_code == 2, res.output
    assert "[train] device = 'cuda' but CUDA is not available" in out and "Traceback" not in out
    assert not out_dir.exists()  # nothing generated, nothing written


def test_recipe_rejects_an_unknown_device_naming_the_key(tmp_path):
    p = tmp_path / "r.toml"
    p.write_text(RECIPE + '[train]\ndevice = "gpu0"\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["generate", str(p)])
    assert res.exit_code == 2
    assert "train.device" in " ".join(res.output.split()) and "cuda:N" in res.output


@NO_CUDA
def test_resolution_on_a_cpu_machine():
    assert resolve("auto", "auto").device == "cpu" and resolve("auto", "auto").precision == "fp32"
    assert resolve("cpu", "bf16").precision == "bf16"
    with pytest.raises(DeviceError, match="fp16.*needs a GPU"):
        resolve("cpu", "fp16")
    with pytest.raises(DeviceError, match="cuda:1.*not available"):
        resolve("cuda:1", "auto")


def test_no_cpu_pin_on_the_training_and_evaluation_path():
    files = [ROOT / "trainers" / f for f in ("train.py", "model.py", "evaluate.py", "poolers.py")]
    files += sorted((ROOT / "trainers" / "losses").glob("*.py")) + [ROOT / "flows" / "train.py"]
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert "use_cpu=True" not in text, f
        assert not re.search(r"""device\s*[:=][^\n]*["']cpu["']""", text), f


@pytest.mark.slow
def test_training_records_device_precision_and_peak_memory(tmp_path):
    from tests.trainers.test_training import write_dataset

    spec = TrainSpec(
        base_model="embedded:all-minilm-l6-v2",
        batch_size=4,
        max_seq_length=16,
        max_steps=1,
        device="cpu",
        precision="bf16",
    )
    res = train(write_dataset(tmp_path / "dataset"), spec, tmp_path / "model")
    assert (res.device, res.precision, res.world_size) == ("cpu", "bf16", 1)
    assert res.peak_memory_mib is not None and res.peak_memory_mib > 50  # a real process peak, in MiB
    assert res.steps == 1


def test_training_json_carries_the_placement(tmp_path, monkeypatch):
    """flows/train writes what trainers/train reports (the run summary then carries model/training.json)."""
    import flows.train as ft
    from flows.recipe import recipe_from_dict
    from trainers.train import TrainResult

    r = recipe_from_dict({"name": "t", "output_dir": str(tmp_path), "sampling": {"max_tokens": 8}})
    (tmp_path / "model").mkdir()
    monkeypatch.setattr(
        ft,
        "train_model",
        lambda *a: TrainResult(
            tmp_path / "model", 4, 1, 1.0, 0.5, device="cpu", precision="fp32", peak_memory_mib=321.0
        ),
    )
    info = ft.train_encoder.fn(r)
    saved = json.loads((tmp_path / "model" / "training.json").read_text())
    assert saved == info and saved["device"] == "cpu" and saved["precision"] == "fp32"
    assert saved["peak_memory_mib"] == 321.0
