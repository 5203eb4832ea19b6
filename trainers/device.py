"""Where training and evaluation run, and in which precision: `[train] device` and `[train] precision`.

device: "auto" (CUDA when available, else CPU) | "cpu" | "cuda" | "cuda:N". Under a data-parallel launcher
(`torchrun` / `accelerate launch`, which set LOCAL_RANK) each process takes its own GPU, so "cuda" there means
"this process's GPU" and "cuda:N" is refused. precision: "auto" (bf16 on a GPU that supports it, else fp16 with
loss scaling; fp32 on CPU) | "fp32" | "bf16" | "fp16". Both are checked before any work starts: a recipe asking
for CUDA on a machine without it fails here with what torch reports, not after generation.
"""

from __future__ import annotations

import os
import resource
import sys
from dataclasses import dataclass
from typing import Literal

DeviceName = str  # "auto" | "cpu" | "cuda" | "cuda:N" (validated by `check_device_name`)
Precision = Literal["auto", "fp32", "bf16", "fp16"]


class DeviceError(ValueError):
    """The recipe's device or precision cannot be used on this machine; the message says why."""


def check_device_name(value: str) -> str:
    """Pydantic-side syntax check: auto | cpu | cuda | cuda:N."""
    v = value.strip().lower()
    if v in ("auto", "cpu", "cuda") or (v.startswith("cuda:") and v[5:].isdigit()):
        return v
    raise ValueError(f"device {value!r}: expected auto, cpu, cuda or cuda:N")


def launched_ranks() -> int:
    """World size set by torchrun / accelerate launch (1 when started plainly)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@dataclass(frozen=True)
class Placement:
    device: str  # torch device string this process uses: "cpu" or "cuda:N"
    precision: Literal["fp32", "bf16", "fp16"]
    world_size: int = 1

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")


def _torch_build() -> str:
    import torch

    return f"torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'}"


def resolve_device(name: str) -> str:
    """The torch device for this process; DeviceError when the machine has no such device."""
    import torch

    name = check_device_name(name)
    if name == "cpu":
        return "cpu"
    available = torch.cuda.is_available()
    if name == "auto":
        name = "cuda" if available else "cpu"
        if name == "cpu":
            return "cpu"
    if not available:
        raise DeviceError(
            f"[train] device = {name!r} but CUDA is not available on this machine "
            f'({_torch_build()}); set device = "auto" or "cpu", or install a CUDA build of torch'
        )
    local_rank = os.environ.get("LOCAL_RANK")
    if local_rank is not None:  # one GPU per process, picked by the launcher
        if name != "cuda":
            raise DeviceError(
                f"[train] device = {name!r} under a data-parallel launcher: each process takes the GPU "
                'of its LOCAL_RANK; use device = "cuda" or "auto" and CUDA_VISIBLE_DEVICES'
            )
        return f"cuda:{int(local_rank)}"
    index = int(name[5:]) if name.startswith("cuda:") else 0
    if index >= torch.cuda.device_count():
        raise DeviceError(f"[train] device = {name!r} but this machine has {torch.cuda.device_count()} CUDA device(s)")
    return f"cuda:{index}"


def resolve_precision(precision: str, device: str) -> Literal["fp32", "bf16", "fp16"]:
    """auto: bf16 on a GPU that supports it, else fp16 (loss-scaled); fp32 on CPU."""
    import torch

    cuda = device.startswith("cuda")
    if precision == "auto":
        if not cuda:
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision == "fp16" and not cuda:
        raise DeviceError(
            '[train] precision = "fp16" needs a GPU (CPU fp16 training has no loss scaling); '
            'use "bf16" or "fp32" on CPU'
        )
    if precision == "bf16" and cuda and not torch.cuda.is_bf16_supported():
        raise DeviceError(
            f'[train] precision = "bf16" but {torch.cuda.get_device_name(device)} does not support '
            'bfloat16; use "fp16" or "auto"'
        )
    return precision  # type: ignore[return-value]


def resolve(device: str, precision: str) -> Placement:
    """Device and precision for this process, checked now (before any work starts)."""
    dev = resolve_device(device)
    return Placement(dev, resolve_precision(precision, dev), launched_ranks())


def reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mib(device: str) -> float:
    """Peak memory of this process: CUDA allocator peak on a GPU, peak resident set size on CPU (MiB)."""
    if device.startswith("cuda"):
        import torch

        return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(rss / (2**20 if sys.platform == "darwin" else 2**10), 1)
