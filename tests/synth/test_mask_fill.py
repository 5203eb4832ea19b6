"""CLAIF mask-and-fill (issue 15 item 3): masking at CLAIF's rates, and the real SmolLM2 filling the blanks."""

from __future__ import annotations

import random

import pytest

from synth.backends.base import Sampling
from synth.records import Anchor
from synth.tasks import TaskContext
from synth.tasks.mask_fill import MASK, MaskFillSpec, MaskFillTask, mask_sentence, read_fill

SENT = "A man in a blue shirt is playing a guitar on the street tonight."  # 14 words


@pytest.mark.parametrize("rate,masked", [(0.0, 0), (0.1, 2), (0.4, 6), (0.8, 12)])
def test_ceil_rate_times_words_are_masked_without_merging(rate, masked):
    out = mask_sentence(SENT, rate, 0.0, random.Random(1))
    assert out.split().count(MASK) == masked and len(out.split()) == 14


def test_merging_joins_adjacent_masks_and_keeps_the_other_words():
    out = mask_sentence(SENT, 0.8, 1.0, random.Random(1))
    words = out.split()
    assert MASK in words and not any(a == b == MASK for a, b in zip(words, words[1:]))
    unmerged = mask_sentence(SENT, 0.8, 0.0, random.Random(1)).split()
    assert [w for w in words if w != MASK] == [w for w, m in zip(SENT.split(), unmerged) if m != MASK]


def test_claif_post_processing_rejections():
    assert read_fill('"A man plays music outside."', SENT) == ("A man plays music outside.", None)
    assert read_fill(f"A {MASK} plays.", SENT)[1] == "mask_fill_unfilled"
    assert read_fill(SENT.upper(), SENT)[1] == "mask_fill_copy"
    assert read_fill("", SENT)[1] == "mask_fill_empty"


@pytest.mark.slow
def test_the_embedded_model_fills_each_rate(smollm):
    spec = MaskFillSpec(rates=[0.0, 0.4])
    ctx = TaskContext(seed=13, sampling=Sampling(max_tokens=24, temperature=0.7))
    recs = MaskFillTask(spec).run([Anchor(text=SENT)], smollm, ctx)
    assert [r.checks["mask_rate"] for r in recs] == [0.0, 0.4] and len({r.id for r in recs}) == 2
    assert recs[1].raw["masked"].split().count(MASK) >= 1 and recs[1].raw["fill"]  # the model answered
    for r in recs:
        assert (r.text_b is not None and MASK not in r.text_b) or r.parse_error.startswith("mask_fill_")
