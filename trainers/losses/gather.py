"""In-batch negatives across data-parallel processes (torchrun / accelerate launch).

With one process per GPU each process sees only its own slice of the global batch; without gathering, a
SimCSE-family loss then has B/W - 1 in-batch negatives instead of B - 1 (W processes). Gathering each process's
candidate embeddings (with gradients, `torch.distributed.nn.all_gather`) and scoring the local anchors against
all of them makes the mean over processes of the per-process loss equal the single-process loss on the same
global batch; DDP's gradient average then equals its gradient (tests/trainers/test_gathered_loss.py).
"""

from __future__ import annotations

from torch import Tensor

from trainers.device import launched_ranks


def gathering() -> bool:
    """Gather when started by a launcher with several processes."""
    return launched_ranks() > 1


def gather_with_grad(t: Tensor) -> Tensor:
    """All processes' rows of `t`, concatenated in rank order; the local rows keep their gradient path."""
    from sentence_transformers.util.distributed import all_gather_with_grad

    return all_gather_with_grad(t)


def local_offset(n_local: int) -> int:
    """Row index of this process's first anchor among the gathered rows."""
    from sentence_transformers.util.distributed import get_rank

    return get_rank() * n_local
