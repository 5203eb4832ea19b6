"""SynCSE-partial: for each corpus anchor, one positive (paraphrase / entailment) and one hard negative
(contradiction), each from an instruction and few-shot exemplars sampled per call from data-file pools."""
from __future__ import annotations

from typing import ClassVar, Literal, Sequence

from pydantic import Field

from synth.backends.base import Backend, Request
from synth.parsing import clean_sentence
from synth.prompting import few_shot_chat, load_exemplars, load_instructions, request_seed, sample_prompt
from synth.records import Anchor, Record
from synth.tasks.base import TaskContext, TaskSpec


class PairsSpec(TaskSpec):
    name: Literal["pairs"] = "pairs"
    exemplars: int = Field(3, ge=0, le=10, description="few-shot demonstrations per call")
    samples: int = Field(1, ge=1, le=8, description="records per anchor (each with its own positive and negative)")
    positive_instructions: str = "pairs/positive.json"
    negative_instructions: str = "pairs/negative.json"
    positive_exemplars: str = "pairs/positive_exemplars.jsonl"
    negative_exemplars: str = "pairs/negative_exemplars.jsonl"


class PairsTask:
    name: ClassVar[str] = "pairs"

    def __init__(self, spec: PairsSpec):
        self.spec = spec

    def _request(self, role: str, anchor: Anchor, sample: int, ctx: TaskContext) -> Request:
        s = self.spec
        insts = load_instructions(s.positive_instructions if role == "positive" else s.negative_instructions)
        shots = load_exemplars(s.positive_exemplars if role == "positive" else s.negative_exemplars)
        rng = ctx.rng(self.name, anchor.id, role, sample)
        inst, chosen = sample_prompt(insts, shots, s.exemplars, rng)
        seed = request_seed(ctx.seed, self.name, anchor.id, role, sample)
        return Request(
            messages=few_shot_chat(inst.text, chosen, anchor.text),
            sampling=ctx.sampling_for(s, seed=seed),
            meta={"anchor": anchor, "role": role, "sample": sample, "prompt_id": inst.id, "kind": inst.kind,
                  "exemplar_ids": [e.id for e in chosen], "seed": seed},
        )

    def run(self, anchors: Sequence[Anchor], llm: Backend, ctx: TaskContext) -> list[Record]:
        requests = [self._request(role, a, k, ctx)
                    for a in anchors for k in range(self.spec.samples) for role in ("positive", "negative")]
        completions = llm.generate(requests)
        records: list[Record] = []
        for i in range(0, len(requests), 2):
            pos_req, neg_req = requests[i], requests[i + 1]
            anchor: Anchor = pos_req.meta["anchor"]
            pos_raw, neg_raw = completions[i].text, completions[i + 1].text
            pos, pos_err = clean_sentence(pos_raw)
            neg, neg_err = clean_sentence(neg_raw)
            err = f"positive_{pos_err}" if pos_err else (f"negative_{neg_err}" if neg_err else None)
            records.append(Record(
                task=self.name, anchor_id=anchor.id, anchor=anchor.text, positive=pos, negative=neg,
                negative_kind=neg_req.meta["kind"],
                prompt_ids=[pos_req.meta["prompt_id"], neg_req.meta["prompt_id"]],
                exemplar_ids=pos_req.meta["exemplar_ids"] + neg_req.meta["exemplar_ids"],
                seed=pos_req.meta["seed"], sample_index=pos_req.meta["sample"],
                raw={"positive": pos_raw, "negative": neg_raw}, parse_error=err,
            ))
        return records
