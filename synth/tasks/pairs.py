"""SynCSE-partial: for each corpus anchor, one positive (paraphrase / entailment) and one hard negative
(contradiction), each from an instruction and few-shot exemplars sampled per call from data-file pools."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar, Literal, Sequence

from pydantic import Field

from synth.backends.base import Completion, Request, Structured
from synth.parsing import clean_sentence, parse_json_object
from synth.prompting import Exemplar, few_shot_chat, load_exemplars, load_instructions, request_seed, sample_prompt
from synth.records import Anchor, Record
from synth.tasks.base import TaskContext, TaskSpec
from synth.tasks.single_round import Prompted, SingleRoundTask, backend_error


class PairsSpec(TaskSpec):
    name: Literal["pairs"] = "pairs"
    exemplars: int = Field(3, ge=0, le=10, description="few-shot demonstrations per call")
    samples: int = Field(1, ge=1, le=8, description="records per anchor (each with its own positive and negative)")
    prompt_variables: ClassVar[dict[str, tuple[str, ...]]] = {"positive_instructions": (), "negative_instructions": ()}
    positive_instructions: str = "pairs/positive.json"
    negative_instructions: str = "pairs/negative.json"
    positive_exemplars: str = "pairs/positive_exemplars.jsonl"
    negative_exemplars: str = "pairs/negative_exemplars.jsonl"
    candidates: int = Field(
        1,
        ge=1,
        le=8,
        description="text mode: samples per request; the first that is not a "
        "copy of the anchor is kept (best-of-n against the small models' habit of copying)",
    )
    output: Literal["text", "json"] = Field(
        "text",
        description="text: two requests per record (positive, negative); json: one request per record "
        "answered as a schema-constrained JSON object {positive, negative} (vLLM structured outputs)",
    )


PAIR_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["positive", "negative"],
    "properties": {"positive": {"type": "string"}, "negative": {"type": "string"}},
}


@dataclass(frozen=True)
class PairContext:
    """What reading one answer needs: its anchor, its role ("positive", "negative", or "json" for both) and the
    provenance the record carries."""

    anchor: Anchor
    role: str
    sample: int
    prompt_ids: tuple[str, ...]
    kind: str
    exemplar_ids: tuple[str, ...]
    seed: int


def _label(anchor: Anchor, role: str) -> dict[str, object]:
    """Request.meta: a label for scripted test backends and traces; the task never reads it back."""
    return {"anchor": anchor, "role": role}


class PairsTask(SingleRoundTask[PairsSpec, PairContext]):
    """Text mode: a positive and a negative request per record, read together (`records`); json mode: one
    schema-constrained request per record (`parse`)."""

    name: ClassVar[str] = "pairs"

    def requests(self, anchors: Sequence[Anchor], ctx: TaskContext) -> list[Prompted[PairContext]]:
        samples = range(self.spec.samples)
        if self.spec.output == "json":
            return [self._json_request(a, k, ctx) for a in anchors for k in samples]
        return [self._request(role, a, k, ctx) for a in anchors for k in samples for role in ("positive", "negative")]

    def _request(self, role: str, anchor: Anchor, sample: int, ctx: TaskContext) -> Prompted[PairContext]:
        s = self.spec
        insts = load_instructions(s.positive_instructions if role == "positive" else s.negative_instructions)
        shots = load_exemplars(s.positive_exemplars if role == "positive" else s.negative_exemplars)
        rng = ctx.rng(self.name, anchor.id, role, sample)
        inst, chosen = sample_prompt(insts, shots, s.exemplars, rng)
        seed = request_seed(ctx.seed, self.name, anchor.id, role, sample)
        request = Request(
            messages=few_shot_chat(inst.text, chosen, anchor.text),
            sampling=ctx.sampling_for(s, seed=seed, n=s.candidates),
            meta=_label(anchor, role),
        )
        return Prompted(
            request, PairContext(anchor, role, sample, (inst.id,), inst.kind, tuple(e.id for e in chosen), seed)
        )

    def _json_request(self, anchor: Anchor, sample: int, ctx: TaskContext) -> Prompted[PairContext]:
        """One request for both sentences: the positive and negative instructions (drawn as in text mode) in one
        prompt, exemplar pairs that share an input shown as JSON, the output constrained to PAIR_SCHEMA."""
        s = self.spec
        pos_inst, pos_shots = sample_prompt(
            load_instructions(s.positive_instructions),
            load_exemplars(s.positive_exemplars),
            s.exemplars,
            ctx.rng(self.name, anchor.id, "positive", sample),
        )
        neg_inst, _ = sample_prompt(
            load_instructions(s.negative_instructions), (), 0, ctx.rng(self.name, anchor.id, "negative", sample)
        )
        twins = {e.input: e for e in load_exemplars(s.negative_exemplars)}
        shots = [(p, twins[p.input]) for p in pos_shots if p.input in twins]
        demos = [
            Exemplar(
                id=f"{p.id}+{n.id}",
                input=p.input,
                output=json.dumps({"positive": p.output, "negative": n.output}, ensure_ascii=False),
            )
            for p, n in shots
        ]
        inst = f'Answer with a JSON object with two keys. "positive": {pos_inst.text} "negative": {neg_inst.text}'
        seed = request_seed(ctx.seed, self.name, anchor.id, "json", sample)
        base_tokens = s.max_tokens or ctx.sampling.max_tokens
        request = Request(
            messages=few_shot_chat(inst, demos, anchor.text),
            sampling=ctx.sampling_for(s, seed=seed, max_tokens=2 * base_tokens + 16),  # two sentences + syntax
            structured=Structured(kind="json", spec=PAIR_SCHEMA),
            meta=_label(anchor, "json"),
        )
        return Prompted(
            request,
            PairContext(
                anchor,
                "json",
                sample,
                (pos_inst.id, neg_inst.id),
                neg_inst.kind,
                tuple(p.id for p, _ in shots) + tuple(n.id for _, n in shots),
                seed,
            ),
        )

    def parse(self, prompted: Prompted[PairContext], completion: Completion) -> Record:
        """Json mode: both sentences from one schema-constrained object."""
        c = prompted.context
        obj, err = parse_json_object(completion.text, ("positive", "negative"))
        pos = neg = None
        if obj is not None:
            values = {k: obj[k] if isinstance(obj[k], str) else None for k in ("positive", "negative")}
            pos, pos_err = clean_sentence(values["positive"])
            neg, neg_err = clean_sentence(values["negative"])
            err = f"positive_{pos_err}" if pos_err else (f"negative_{neg_err}" if neg_err else None)
        else:
            err = f"json_{err}"
        return Record(
            task=self.name,
            anchor_id=c.anchor.id,
            anchor=c.anchor.text,
            positive=pos,
            negative=neg,
            negative_kind=c.kind,
            prompt_ids=list(c.prompt_ids),
            exemplar_ids=list(c.exemplar_ids),
            seed=c.seed,
            sample_index=c.sample,
            raw={"json": completion.text},
            parse_error=err,
        )

    def records(self, prompted: list[Prompted[PairContext]], completions: list[Completion]) -> list[Record]:
        if self.spec.output == "json":
            return super().records(prompted, completions)
        return [
            self._text_record(prompted[i].context, prompted[i + 1].context, completions[i], completions[i + 1])
            for i in range(0, len(prompted), 2)
        ]

    def _text_record(
        self, pos_ctx: PairContext, neg_ctx: PairContext, pos_comp: Completion, neg_comp: Completion
    ) -> Record:
        """Text mode: the positive and the negative answer of one record, best-of-n candidates each."""
        anchor = pos_ctx.anchor
        (pos, pos_err, pos_raw, pos_pick), (neg, neg_err, neg_raw, neg_pick) = (
            pick_candidate([smp.text for smp in comp.samples], anchor.text) for comp in (pos_comp, neg_comp)
        )
        err = f"positive_{pos_err}" if pos_err else (f"negative_{neg_err}" if neg_err else None)
        return Record(
            task=self.name,
            anchor_id=anchor.id,
            anchor=anchor.text,
            positive=pos,
            negative=neg,
            negative_kind=neg_ctx.kind,
            prompt_ids=list(pos_ctx.prompt_ids + neg_ctx.prompt_ids),
            exemplar_ids=list(pos_ctx.exemplar_ids + neg_ctx.exemplar_ids),
            seed=pos_ctx.seed,
            sample_index=pos_ctx.sample,
            raw={"positive": pos_raw, "negative": neg_raw},
            parse_error=backend_error(pos_comp, neg_comp) or err,
            checks={"positive_candidate": pos_pick, "negative_candidate": neg_pick} if self.spec.candidates > 1 else {},
        )


def _norm(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


def pick_candidate(raws: list[str], anchor: str) -> tuple[str | None, str | None, str, int]:
    """The first candidate that parses and is not the anchor again: (sentence, error, raw, index)."""
    raws = raws or [""]
    parsed = [clean_sentence(r) for r in raws]
    for i, ((text, _err), raw) in enumerate(zip(parsed, raws)):
        if text is not None and _norm(text) != _norm(anchor):
            return text, None, raw, i
    first = next((i for i, (t, _) in enumerate(parsed) if t is not None), 0)
    return parsed[first][0], parsed[first][1], raws[first], first
