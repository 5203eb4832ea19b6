"""Ranked paraphrase lists: k rewrites of an anchor ordered from most to least similar (RankGen).

Modes:
- graded: one prompt per level, each told how much meaning to change; all k*anchors requests in one call.
- chain: RankGen's chain (He et al., Findings ACL 2025): step i rewrites step i-1; generation order is the
  assumed similarity ranking. One backend call per step over the whole shard.
- guided_chain: the chain with classifier-free guidance, logits = l_neg + scale * (l_pos - l_neg), where the
  positive prompt rewrites step i-1 and the negative prompt rewrites step i-2, pushing each step away from
  the last. Needs a backend with `supports_guidance = True` (transformers); otherwise
  `on_unsupported_guidance` decides: "error" or fall back to "chain".

RankGen's filters become recorded rejections (`parse_error`): a list with a newline in any step, or with
repeated steps ("any": any two equal after normalising; "rankgen": the last or second-to-last step occurs
three times or more).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Sequence

from pydantic import Field

from synth.backends.base import Backend, BackendError, Completion, Guidance, Message, Request, chat_messages
from synth.parsing import clean_sentence
from synth.prompting import Instruction, load_instructions, render, request_seed
from synth.records import Anchor, Record
from synth.tasks.base import TaskContext, TaskSpec
from synth.tasks.single_round import Prompted, ask, run_rounds

Mode = Literal["graded", "chain", "guided_chain"]


class RankedSpec(TaskSpec):
    name: Literal["ranked"] = "ranked"
    k: int = Field(5, ge=2, le=64, description="rewrites per anchor (RankGen uses 32-step chains)")
    mode: Mode = "graded"
    guidance_scale: float = Field(1.5, gt=0, description="CFG scale for guided_chain (RankGen: 1.5)")
    on_unsupported_guidance: Literal["error", "chain"] = Field(
        "error", description="guided_chain on a backend without CFG (vLLM, OpenAI): fail, or run plain chain"
    )
    temperature: float | None = Field(None, ge=0, le=2, description="overrides [sampling].temperature")
    repeat_rule: Literal["any", "rankgen", "off"] = "any"
    reject_newlines: bool = Field(True, description="RankGen drops a list if any step contains a newline")
    prompt_variables: ClassVar[dict[str, tuple[str, ...]]] = {
        "graded_instructions": (),
        "chain_instruction": ("sentence",),
        "graded_template": ("instruction", "sentence"),
    }
    prompt_templates: ClassVar[tuple[str, ...]] = ("graded_template",)
    graded_instructions: str = "ranked/graded.json"
    graded_template: str = Field(
        "ranked/graded_template.json", description="the graded query around a level's instruction"
    )
    chain_instruction: str = "ranked/chain.json"


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def list_problem(anchor: str, steps: Sequence[str], raws: Sequence[str], spec: RankedSpec) -> str | None:
    """RankGen's list filters: the reason a list is unusable, or None."""
    if spec.reject_newlines and any("\n" in (r or "").strip() for r in raws):
        return "ranked_newline"
    seq = [_norm(anchor)] + [_norm(s) for s in steps]
    if spec.repeat_rule == "any" and len(set(seq)) < len(seq):
        return "ranked_repeat"
    if spec.repeat_rule == "rankgen" and any(seq.count(x) >= 3 for x in seq[-2:]):
        return "ranked_stuck"
    return None


def graded_levels(k: int, n_levels: int) -> list[int]:
    """k instruction indices spread evenly from the most to the least similar level of the pool."""
    if k == 1:
        return [0]
    return [round(i * (n_levels - 1) / (k - 1)) for i in range(k)]


@dataclass(frozen=True)
class StepContext:
    """One request of a list: which anchor of the shard (`item`) and which graded level or chain step."""

    item: int
    step: int


@dataclass
class Lists:
    """What the rounds have read so far, per anchor: parsed steps, raw answers, and the first failure."""

    steps: list[list[str]]
    raws: list[list[str]]
    errors: dict[int, str] = field(default_factory=dict)

    @classmethod
    def empty(cls, n: int) -> "Lists":
        return cls([[] for _ in range(n)], [[] for _ in range(n)])


class RankedTask:
    """Graded: one round (k requests per anchor). Chains: k rounds composed with `run_rounds`, round i rewriting
    step i-1 of every list that has not failed yet."""

    name: ClassVar[str] = "ranked"

    def __init__(self, spec: RankedSpec):
        self.spec = spec

    def _sampling(self, ctx: TaskContext, seed: int):
        extra = {} if self.spec.temperature is None else {"temperature": self.spec.temperature}
        return ctx.sampling_for(self.spec, seed=seed, n=1, **extra)

    def _chain_messages(self, sentence: str) -> tuple[Message, ...]:
        inst = load_instructions(self.spec.chain_instruction)[0]
        return chat_messages(("user", render(inst, sentence=sentence)))

    def mode_for(self, llm: Backend) -> str:
        s = self.spec
        if s.mode != "guided_chain" or getattr(llm, "supports_guidance", False):
            return s.mode
        if s.on_unsupported_guidance == "chain":
            return "chain"
        raise BackendError(
            f"ranked task: mode guided_chain needs classifier-free guidance, which the {llm.name!r} backend does "
            f'not support; use the transformers backend, or set on_unsupported_guidance = "chain" in the '
            f"ranked [[tasks]] entry to fall back to plain chains"
        )

    def run(self, anchors: Sequence[Anchor], llm: Backend, ctx: TaskContext) -> list[Record]:
        mode = self.mode_for(llm)
        lists = Lists.empty(len(anchors))
        if mode == "graded":
            levels = self._levels()
            prompted = self._graded_requests(anchors, levels, ctx)
            for p, c in zip(prompted, ask(llm, prompted)):
                self._read_level(lists, p.context, c)
            pids = [inst.id for inst in levels]
        else:
            guided = mode == "guided_chain"
            run_rounds(
                llm,
                self.spec.k,
                lambda step: self._chain_requests(anchors, lists, step, ctx, guided),
                lambda p, c: self._read_step(lists, p.context, c),
            )
            pids = [load_instructions(self.spec.chain_instruction)[0].id]
        records = []
        for i, a in enumerate(anchors):
            err = lists.errors.get(i) or list_problem(a.text, lists.steps[i], lists.raws[i], self.spec)
            rec = Record(
                task=self.name,
                anchor_id=a.id,
                anchor=a.text,
                ranked=list(lists.steps[i]),
                ranked_mode=mode,
                prompt_ids=pids,
                seed=request_seed(ctx.seed, self.name, a.id, self.spec.mode),
                raw={f"step_{j + 1}": r for j, r in enumerate(lists.raws[i])},
                parse_error=err,
            )
            if mode != self.spec.mode:
                rec.checks["guidance_fallback"] = 1.0
            records.append(rec)
        return records

    def _levels(self) -> list[Instruction]:
        pool = load_instructions(self.spec.graded_instructions)
        return [pool[j] for j in graded_levels(self.spec.k, len(pool))]

    def _graded_requests(
        self, anchors: Sequence[Anchor], levels: Sequence[Instruction], ctx: TaskContext
    ) -> list[Prompted[StepContext]]:
        out = []
        template = load_instructions(self.spec.graded_template)[0]
        for i, a in enumerate(anchors):
            for lvl, inst in enumerate(levels):
                seed = request_seed(ctx.seed, self.name, a.id, "graded", lvl)
                msg = chat_messages(("user", render(template, instruction=inst.text, sentence=a.text)))
                out.append(Prompted(Request(messages=msg, sampling=self._sampling(ctx, seed)), StepContext(i, lvl)))
        return out

    @staticmethod
    def _read_level(lists: Lists, c: StepContext, comp: Completion) -> None:
        """A graded answer: kept in its place; the list's error is its first failed level's."""
        text, err = clean_sentence(comp.text)
        lists.raws[c.item].append(comp.text)
        if err and c.item not in lists.errors:
            lists.errors[c.item] = comp.error or f"level{c.step + 1}_{err}"  # the backend's reason where it failed
        lists.steps[c.item].append(text or "")

    def _chain_requests(
        self, anchors: Sequence[Anchor], lists: Lists, step: int, ctx: TaskContext, guided: bool
    ) -> list[Prompted[StepContext]]:
        """Round `step`: rewrite the last step of every list that has not failed (none left: the chain ends)."""
        out = []
        for i in (i for i in range(len(anchors)) if i not in lists.errors):
            history = [anchors[i].text] + lists.steps[i]
            seed = request_seed(ctx.seed, self.name, anchors[i].id, "chain", step)
            guidance = None
            if guided and len(history) >= 2:  # step 1 has no previous prompt to steer away from
                guidance = Guidance(negative=self._chain_messages(history[-2]), scale=self.spec.guidance_scale)
            out.append(
                Prompted(
                    Request(
                        messages=self._chain_messages(history[-1]),
                        sampling=self._sampling(ctx, seed),
                        guidance=guidance,
                    ),
                    StepContext(i, step),
                )
            )
        return out

    @staticmethod
    def _read_step(lists: Lists, c: StepContext, comp: Completion) -> None:
        """A chain answer: the next step, or the end of this list with its reason."""
        text, err = clean_sentence(comp.text)
        lists.raws[c.item].append(comp.text)
        if err:
            lists.errors[c.item] = comp.error or f"step{c.step + 1}_{err}"
        else:
            lists.steps[c.item].append(text)
