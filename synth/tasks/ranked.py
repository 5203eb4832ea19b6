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
from typing import ClassVar, Literal, Sequence

from pydantic import Field

from synth.backends.base import Backend, BackendError, Guidance, Message, Request, chat_messages
from synth.parsing import clean_sentence
from synth.prompting import load_instructions, render, request_seed
from synth.records import Anchor, Record
from synth.tasks.base import TaskContext, TaskSpec

Mode = Literal["graded", "chain", "guided_chain"]
GRADED_SUFFIX = "Answer with the new sentence only, without any explanation."


class RankedSpec(TaskSpec):
    name: Literal["ranked"] = "ranked"
    k: int = Field(5, ge=2, le=64, description="rewrites per anchor (RankGen uses 32-step chains)")
    mode: Mode = "graded"
    guidance_scale: float = Field(1.5, gt=0, description="CFG scale for guided_chain (RankGen: 1.5)")
    on_unsupported_guidance: Literal["error", "chain"] = Field(
        "error", description="guided_chain on a backend without CFG (vLLM, OpenAI): fail, or run plain chain")
    temperature: float | None = Field(None, ge=0, le=2, description="overrides [sampling].temperature")
    repeat_rule: Literal["any", "rankgen", "off"] = "any"
    reject_newlines: bool = Field(True, description="RankGen drops a list if any step contains a newline")
    prompt_variables: ClassVar[dict[str, tuple[str, ...]]] = {"graded_instructions": (),
                                                              "chain_instruction": ("sentence",)}
    graded_instructions: str = "ranked/graded.json"
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


class RankedTask:
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
            f"not support; use the transformers backend, or set on_unsupported_guidance = \"chain\" in the "
            f"ranked [[tasks]] entry to fall back to plain chains")

    def run(self, anchors: Sequence[Anchor], llm: Backend, ctx: TaskContext) -> list[Record]:
        mode = self.mode_for(llm)
        if mode == "graded":
            steps, raws, errors, pids = self._graded(anchors, llm, ctx)
        else:
            steps, raws, errors, pids = self._chain(anchors, llm, ctx, guided=mode == "guided_chain")
        records = []
        for i, a in enumerate(anchors):
            err = errors.get(i) or list_problem(a.text, steps[i], raws[i], self.spec)
            rec = Record(task=self.name, anchor_id=a.id, anchor=a.text, ranked=list(steps[i]), ranked_mode=mode,
                         prompt_ids=pids, seed=request_seed(ctx.seed, self.name, a.id, self.spec.mode),
                         raw={f"step_{j + 1}": r for j, r in enumerate(raws[i])}, parse_error=err)
            if mode != self.spec.mode:
                rec.checks["guidance_fallback"] = 1.0
            records.append(rec)
        return records

    def _graded(self, anchors: Sequence[Anchor], llm: Backend, ctx: TaskContext):
        pool = load_instructions(self.spec.graded_instructions)
        levels = [pool[j] for j in graded_levels(self.spec.k, len(pool))]
        reqs = []
        for a in anchors:
            for lvl, inst in enumerate(levels):
                seed = request_seed(ctx.seed, self.name, a.id, "graded", lvl)
                msg = chat_messages(("user", f"{inst.text} {GRADED_SUFFIX}\nSentence: {a.text}"))
                reqs.append(Request(messages=msg, sampling=self._sampling(ctx, seed)))
        comps = llm.generate(reqs)
        k = len(levels)
        steps: list[list[str]] = [[] for _ in anchors]
        raws: list[list[str]] = [[] for _ in anchors]
        errors: dict[int, str] = {}
        for n, comp in enumerate(comps):
            i, lvl = divmod(n, k)
            text, err = clean_sentence(comp.text)
            raws[i].append(comp.text)
            if err and i not in errors:
                errors[i] = comp.error or f"level{lvl + 1}_{err}"  # a request the backend could not serve: why
            steps[i].append(text or "")
        return steps, raws, errors, [inst.id for inst in levels]

    def _chain(self, anchors: Sequence[Anchor], llm: Backend, ctx: TaskContext, guided: bool):
        inst = load_instructions(self.spec.chain_instruction)[0]
        steps: list[list[str]] = [[] for _ in anchors]
        raws: list[list[str]] = [[] for _ in anchors]
        errors: dict[int, str] = {}
        for step in range(self.spec.k):
            alive = [i for i in range(len(anchors)) if i not in errors]
            if not alive:
                break
            reqs = []
            for i in alive:
                history = [anchors[i].text] + steps[i]
                seed = request_seed(ctx.seed, self.name, anchors[i].id, "chain", step)
                guidance = None
                if guided and len(history) >= 2:  # step 1 has no previous prompt to steer away from
                    guidance = Guidance(negative=self._chain_messages(history[-2]), scale=self.spec.guidance_scale)
                reqs.append(Request(messages=self._chain_messages(history[-1]), sampling=self._sampling(ctx, seed),
                                    guidance=guidance))
            for i, comp in zip(alive, llm.generate(reqs)):
                text, err = clean_sentence(comp.text)
                raws[i].append(comp.text)
                if err:
                    errors[i] = comp.error or f"step{step + 1}_{err}"
                else:
                    steps[i].append(text)
        return steps, raws, errors, [inst.id]
