"""CLAIF's mask-and-fill pairs: mask a sentence at several rates, let the LLM fill the blanks, score the pair.

Cheng et al., "Improving Contrastive Learning of Sentence Embeddings from AI Feedback", Findings ACL 2023
(xiami2019/CLAIF, stage 1, DINO-style): for each sentence and each mask rate r (default 0.0, 0.1, ..., 0.8)
replace ceil(r * #words) random whitespace tokens by `<mask>`, and with probability 0.5 merge adjacent masks
into one. Prompts (CLAIF's completion prompts, sent as one chat turn; templates in synth/prompts/mask_fill/,
`paraphrase_prompt` fills `{sentence}`, `fill_prompt` fills `{masked}`):
  r = 0:  Write two sentences that mean the same thing. Sentence 1: "{sentence}" Sentence 2:
  r > 0:  Replace all <mask> tokens in "{masked}" to make a new sentence. The new sentence is:
The filled sentence goes to `text_b` (its rate in `checks["mask_rate"]`, the masked text in `raw["masked"]`), so
the judge scores (original, filled) as CLAIF's stage 2 does and `pair_score` feeds the `claif`/`cosent`
objectives. As CLAIF's post-processing, a fill that is empty, still has a mask, or equals the original is a
recorded rejection (`mask_fill_empty`, `mask_fill_unfilled`, `mask_fill_copy`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import ClassVar, Literal, Sequence

from pydantic import Field, field_validator

from synth.backends.base import Completion, Request, chat_messages
from synth.parsing import clean_sentence
from synth.prompting import Instruction, load_instructions, render, request_seed
from synth.records import Anchor, Record
from synth.tasks.base import TaskContext, TaskSpec
from synth.tasks.single_round import Prompted, SingleRoundTask

MASK = "<mask>"


class MaskFillSpec(TaskSpec):
    name: Literal["mask_fill"] = "mask_fill"
    rates: list[float] = Field(
        default_factory=lambda: [round(0.1 * i, 1) for i in range(9)],
        min_length=1,
        description="mask rates (CLAIF: 0.0, 0.1, ..., 0.8)",
    )
    merge_probability: float = Field(0.5, ge=0, le=1, description="chance to merge adjacent masks into one")
    prompt_variables: ClassVar[dict[str, tuple[str, ...]]] = {
        "paraphrase_prompt": ("sentence",),
        "fill_prompt": ("masked",),
    }
    prompt_templates: ClassVar[tuple[str, ...]] = ("paraphrase_prompt", "fill_prompt")
    paraphrase_prompt: str = Field("mask_fill/paraphrase.json", description="template for rate 0 ({sentence})")
    fill_prompt: str = Field("mask_fill/fill.json", description="template for rates > 0 ({masked})")

    @field_validator("rates")
    @classmethod
    def _rates(cls, v: list[float]) -> list[float]:
        bad = [r for r in v if not 0 <= r < 1]
        if bad or len(set(v)) != len(v):
            raise ValueError(f"rates must be distinct values in [0, 1); got {v}")
        return v


def mask_sentence(text: str, rate: float, merge_probability: float, rng: random.Random) -> str:
    """ceil(rate * #words) random words -> <mask>; adjacent masks merged into one with merge_probability."""
    words = text.split()
    k = min(len(words), math.ceil(rate * len(words)))
    for i in rng.sample(range(len(words)), k):
        words[i] = MASK
    if k and rng.random() < merge_probability:
        words = [w for i, w in enumerate(words) if not (w == MASK and i > 0 and words[i - 1] == MASK)]
    return " ".join(words)


def read_fill(text: str, anchor: str) -> tuple[str | None, str | None]:
    s, err = clean_sentence(text)
    if s is None:
        return None, f"mask_fill_{err}"
    if MASK in s:
        return None, "mask_fill_unfilled"
    if " ".join(s.lower().split()) == " ".join(anchor.lower().split()):
        return None, "mask_fill_copy"
    return s, None


@dataclass(frozen=True)
class FillContext:
    """One request's anchor, mask rate (its index in `rates`), masked text and seed."""

    anchor: Anchor
    index: int
    rate: float
    masked: str
    seed: int


class MaskFillTask(SingleRoundTask[MaskFillSpec, FillContext]):
    name: ClassVar[str] = "mask_fill"

    def _template(self, rate: float) -> Instruction:
        """The first instruction of the rate's template file (CLAIF uses one fixed prompt per kind)."""
        return load_instructions(self.spec.paraphrase_prompt if rate == 0 else self.spec.fill_prompt)[0]

    def requests(self, anchors: Sequence[Anchor], ctx: TaskContext) -> list[Prompted[FillContext]]:
        out = []
        for a in anchors:
            for k, rate in enumerate(self.spec.rates):
                masked = mask_sentence(a.text, rate, self.spec.merge_probability, ctx.rng(self.name, a.id, rate))
                inst = self._template(rate)
                prompt = render(inst, sentence=a.text) if rate == 0 else render(inst, masked=masked)
                seed = request_seed(ctx.seed, self.name, a.id, rate)
                req = Request(
                    messages=chat_messages(("user", prompt)),
                    sampling=ctx.sampling_for(self.spec, seed=seed, stop=("\n",)),
                )
                out.append(Prompted(req, FillContext(a, k, rate, masked, seed)))
        return out

    def parse(self, prompted: Prompted[FillContext], completion: Completion) -> Record:
        c = prompted.context
        fill, err = read_fill(completion.text, c.anchor.text)
        return Record(
            task=self.name,
            anchor_id=c.anchor.id,
            anchor=c.anchor.text,
            text_b=fill,
            checks={"mask_rate": c.rate},
            prompt_ids=[self._template(c.rate).id],
            seed=c.seed,
            sample_index=c.index,
            raw={"masked": c.masked, "fill": completion.text},
            parse_error=err,
        )
