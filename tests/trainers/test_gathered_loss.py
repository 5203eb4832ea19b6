"""Data-parallel in-batch negatives: two gloo processes on CPU, each holding half of a global batch, give the
single-process loss on the whole batch (mean over processes) and, after DDP's gradient average, its gradient."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from trainers.losses import build_loss
from trainers.losses.infonce import InfoNCESpec
from trainers.losses.simcse_unsup import SimCSEUnsupSpec

WORLD, BATCH, DIM = 2, 8, 16
SPECS = {"mnrl": InfoNCESpec(), "infonce-hn": InfoNCESpec(hard_negative_weight=0.7), "simcse-unsup": SimCSEUnsupSpec()}


def global_batch(columns: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    return [torch.randn(BATCH, DIM, generator=g, dtype=torch.float64) for _ in range(columns)]


def loss_and_grads(key: str, rows: slice) -> tuple[float, list[torch.Tensor]]:
    """This process's loss and embedding gradients on `rows` of the global batch, through the registered loss."""
    spec = SPECS[key]
    cols = global_batch(2 if key == "simcse-unsup" else 3)
    local = [c[rows].clone().requires_grad_(True) for c in cols]
    loss = build_loss(torch.nn.Identity(), spec).compute_loss_from_embeddings(local, None)
    loss.backward()
    return float(loss.detach()), [t.grad for t in local]


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(WORLD_SIZE=str(WORLD), RANK=str(rank), LOCAL_RANK=str(rank))  # as torchrun sets them
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD)
    try:
        half = BATCH // WORLD
        res = {k: loss_and_grads(k, slice(rank * half, (rank + 1) * half)) for k in SPECS}
        torch.save(res, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("ddp")
    # spawn, not fork: a child forked after the parent's torch thread pool ran (earlier tests in the same pytest
    # process) deadlocks in its first parallel op
    mp.start_processes(_worker, args=(_free_port(), str(out)), nprocs=WORLD, join=True, start_method="spawn")
    return [torch.load(out / f"rank{r}.pt") for r in range(WORLD)]


@pytest.mark.parametrize("key", list(SPECS))
def test_gathered_loss_equals_single_process_loss(two_processes, key, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    single_loss, single_grads = loss_and_grads(key, slice(None))
    losses = [r[key][0] for r in two_processes]
    assert sum(losses) / WORLD == pytest.approx(single_loss, rel=1e-9)
    half = BATCH // WORLD
    for rank, r in enumerate(two_processes):
        for g_local, g_single in zip(r[key][1], single_grads):
            # DDP averages gradients over processes: local grad / WORLD is this slice's share of the global grad
            torch.testing.assert_close(
                g_local / WORLD, g_single[rank * half : (rank + 1) * half], rtol=1e-9, atol=1e-12
            )


def test_without_gathering_the_loss_differs(two_processes, monkeypatch):
    """The property is not vacuous: per-process negatives only (no gather) give a different loss."""
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    single_loss, _ = loss_and_grads("mnrl", slice(None))
    half = BATCH // WORLD
    ungathered = [loss_and_grads("mnrl", slice(r * half, (r + 1) * half))[0] for r in range(WORLD)]
    assert abs(sum(ungathered) / WORLD - single_loss) > 1e-3
