"""Shared by the benches that build synthetic generated rows from real corpus sentences."""

from __future__ import annotations

import random


def perturb(s: str, rng: random.Random) -> str:
    """A near duplicate: one inner word dropped and two neighbours swapped (sentences over four words)."""
    w = s.split()
    if len(w) > 4:
        del w[rng.randrange(1, len(w) - 1)]
        i = rng.randrange(0, len(w) - 1)
        w[i], w[i + 1] = w[i + 1], w[i]
    return " ".join(w)
