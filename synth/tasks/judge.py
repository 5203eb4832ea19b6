"""AI-feedback similarity scores: an LLM judge rates (anchor, text) pairs on a fixed integer scale.

CLAIF (Cheng et al., Findings ACL 2023) labels pairs with an LLM similarity score and adds random pairs so
the scores cover the low end; MultiCSR (Wang et al., NAACL 2024) has the generator score its own positive
and negative on 0-5. Here the judge is an *annotating* task: it fills `positive_score`, `negative_score`,
`pair_score` and `Record.scores` (one `Score` per judged text, ranked-list members included) of records
other tasks wrote, keeping their ids, and writes CLAIF-style random pairs as new records.

The score is the expected value of the score token under the judge's next-token distribution,
E[s] = sum_s s * p(s) / sum_s p(s) over the valid score tokens, read at the first generated position
whose most likely token is a digit (position 0 when the judge answers with a bare digit, which the
few-shot chat asks for); where the backend returns no log-probabilities, the first number it wrote.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal, Sequence

from pydantic import Field, model_validator

from synth.backends import backend_spec_type
from synth.backends.base import Backend, Completion, Request, Structured
from synth.parsing import first_number
from synth.prompting import (
    Exemplar,
    few_shot_chat,
    load_exemplars,
    load_instructions,
    render,
    request_seed,
    sample_prompt,
)
from synth.records import Anchor, Record, Score
from synth.tasks.base import TaskContext, TaskSpec
from synth.tasks.single_round import Prompted, ask

Target = Literal["positive", "negative", "ranked", "text_b"]
EXEMPLAR_SCALE = 5  # the shipped demonstrations are written on 0-5 and rescaled to the configured scale


class JudgeSpec(TaskSpec):
    consumes: ClassVar[tuple[str, ...]] = ("anchors", "records")  # records of score_tasks; anchors alone without
    name: Literal["judge"] = "judge"
    max_tokens: int | None = Field(4, ge=1, description="a score needs a token or two; a short cap keeps it fast")
    backend: backend_spec_type() | None = Field(  # type: ignore[valid-type]
        None, description="judge model/backend; default: the recipe's [generator]"
    )
    score_min: int = Field(0, ge=0, le=8)
    score_max: int = Field(5, ge=1, le=9, description="single-digit scales only: the score must be one token")
    top_logprobs: int = Field(20, ge=1, le=20, description="log-probabilities per position asked of the backend")
    temperature: float = Field(0.0, ge=0, le=2, description="0 = greedy; the expected value does not depend on it")
    structured: bool = Field(True, description="ask backends that support it to answer with one score token")
    exemplars: int = Field(3, ge=0, le=12, description="few-shot demonstrations per judgement")
    targets: list[Target] = Field(default_factory=lambda: ["positive", "negative", "ranked", "text_b"])
    score_tasks: list[str] | None = Field(None, description="tasks whose records are scored; default: all others")
    random_pairs: int = Field(1, ge=0, le=8, description="CLAIF random pairs per anchor (anchor, another anchor)")
    on_unparsable: Literal["reject", "keep"] = Field(
        "reject", description="an unreadable judgement rejects the record (reason judge_<target>_unparsable)"
    )
    prompt_variables: ClassVar[dict[str, tuple[str, ...]]] = {"instructions": ("min", "max")}
    instructions: str = "judge/instructions.json"
    exemplar_pool: str = "judge/exemplars.jsonl"

    @model_validator(mode="after")
    def _scale(self) -> "JudgeSpec":
        if self.score_min >= self.score_max:
            raise ValueError(f"score_min ({self.score_min}) must be below score_max ({self.score_max})")
        return self


@dataclass(frozen=True)
class Judgement:
    expected: float | None
    parsed: float | None
    raw: str

    @property
    def value(self) -> float | None:
        """What goes in positive_score / negative_score / pair_score: expected where available."""
        return self.expected if self.expected is not None else self.parsed


def score_tokens(spec: JudgeSpec) -> dict[str, int]:
    return {str(i): i for i in range(spec.score_min, spec.score_max + 1)}


def expected_score(top_logprobs: Sequence[dict[str, float]] | None, valid: dict[str, int]) -> float | None:
    """E[score] renormalised over the valid score tokens, at the first position whose argmax is a digit.

    Tokens are compared stripped (" 3" and "3" are the same score; their probabilities add up). An
    off-scale argmax ("6" on 0-5) still yields the expectation over the on-scale tokens in its top-k.
    Returns None when no position has a digit as its most likely token or no valid token is in the top-k.
    """
    for position in top_logprobs or []:
        if not position:
            continue
        best = max(position, key=position.get).strip()
        if not best.isdigit():
            continue  # "Score: 4": words, punctuation or whitespace before the number
        mass: dict[int, float] = {}
        for tok, lp in position.items():
            key = tok.strip()
            if key in valid:
                mass[valid[key]] = mass.get(valid[key], 0.0) + math.exp(lp)
        total = sum(mass.values())
        return sum(s * p for s, p in mass.items()) / total if total > 0 else None
    return None


def parsed_score(text: str, spec: JudgeSpec) -> float | None:
    """The first number the judge wrote, if it lies on the scale."""
    x = first_number(text)
    return x if x is not None and spec.score_min <= x <= spec.score_max else None


def read_judgement(completion: Completion, spec: JudgeSpec) -> Judgement:
    sample = completion.samples[0] if completion.samples else None
    text = sample.text if sample else ""
    expected = expected_score(sample.top_logprobs if sample else None, score_tokens(spec))
    return Judgement(expected=expected, parsed=parsed_score(text, spec), raw=text)


def _rescaled(shots: Sequence[Exemplar], spec: JudgeSpec) -> list[Exemplar]:
    span = spec.score_max - spec.score_min
    return [
        Exemplar(id=e.id, input=e.input, output=str(round(spec.score_min + float(e.output) * span / EXEMPLAR_SCALE)))
        for e in shots
    ]


def judge_request(a: str, b: str, spec: JudgeSpec, ctx: TaskContext) -> tuple[Request, str, list[str], int]:
    """The chat asking for one score of (a, b), plus its prompt id, exemplar ids and seed."""
    rng = ctx.rng("judge", a, b)
    inst, shots = sample_prompt(
        load_instructions(spec.instructions), load_exemplars(spec.exemplar_pool), spec.exemplars, rng
    )
    text = render(inst, min=spec.score_min, max=spec.score_max)
    seed = request_seed(ctx.seed, "judge", a, b)
    sampling = ctx.sampling_for(
        spec, seed=seed, temperature=spec.temperature, logprobs=spec.top_logprobs, n=1, stop=("\n",)
    )
    structured = Structured(kind="choice", spec=list(score_tokens(spec))) if spec.structured else None
    messages = few_shot_chat(text, _rescaled(shots, spec), f"Sentence 1: {a}\nSentence 2: {b}")
    return Request(messages=messages, sampling=sampling, structured=structured), inst.id, [e.id for e in shots], seed


def judge_pairs(pairs: Sequence[tuple[str, str]], llm: Backend, spec: JudgeSpec, ctx: TaskContext) -> list[Judgement]:
    """Score every pair in one backend call."""
    if not pairs:
        return []
    completions = llm.generate([judge_request(a, b, spec, ctx)[0] for a, b in pairs])
    return [read_judgement(c, spec) for c in completions]


@dataclass(frozen=True)
class JudgeContext:
    """One judgement: the record it annotates, which of its texts (`target`: positive, negative, pair,
    ranked:<i>) and the judge prompt's provenance."""

    record: Record
    target: str
    text: str
    prompt_id: str
    exemplar_ids: tuple[str, ...]
    seed: int


class JudgeTask:
    """An annotating round: one request per (record, text) on the judge backend, each answer written into its
    record (same ids); not a SingleRoundTask because it returns the records it was given, scored or not."""

    name: ClassVar[str] = "judge"

    def __init__(self, spec: JudgeSpec):
        self.spec = spec

    def _judge_backend(self, llm: Backend, ctx: TaskContext) -> Backend:
        if self.spec.backend is not None:
            if ctx.backend_for is None:
                raise RuntimeError("judge.backend is set but this context cannot build other backends")
            return ctx.backend_for(self.spec.backend)
        return llm

    def random_pairs(self, anchors: Sequence[Anchor], ctx: TaskContext) -> list[Record]:
        """CLAIF's random pairs: each anchor with another anchor of the shard, to be scored (low, mostly)."""
        out: list[Record] = []
        if len(anchors) < 2:
            return out
        for i, a in enumerate(anchors):
            others = [b for j, b in enumerate(anchors) if j != i and b.text != a.text]
            rng = ctx.rng("judge-random", a.id)
            for k, b in enumerate(rng.sample(others, min(self.spec.random_pairs, len(others)))):
                out.append(Record(task=self.name, anchor_id=a.id, anchor=a.text, text_b=b.text, sample_index=k))
        return out

    def _targets(self, r: Record) -> list[tuple[str, str]]:
        t = self.spec.targets
        out = []
        if "positive" in t and r.positive:
            out.append(("positive", r.positive))
        if "negative" in t and r.negative:
            out.append(("negative", r.negative))
        if "text_b" in t and r.text_b:
            out.append(("pair", r.text_b))
        if "ranked" in t and r.ranked:
            out.extend((f"ranked:{i}", x) for i, x in enumerate(r.ranked) if x)
        return out

    def judge_requests(self, records: Sequence[Record], ctx: TaskContext) -> list[Prompted[JudgeContext]]:
        """One request per (record, target text), in record order."""
        out = []
        for r in records:
            for target, text in self._targets(r):
                request, pid, eids, seed = judge_request(r.anchor, text, self.spec, ctx)
                out.append(Prompted(request, JudgeContext(r, target, text, pid, tuple(eids), seed)))
        return out

    def _score(self, records: list[Record], llm: Backend, ctx: TaskContext) -> list[Record]:
        """One round on the judge backend; each answer annotates its record in place."""
        judge = self._judge_backend(llm, ctx)
        prompted = self.judge_requests(records, ctx)
        for p, comp in zip(prompted, ask(judge, prompted)):
            self._annotate(p.context, comp, judge.model_id)
        return records

    def _annotate(self, c: JudgeContext, comp: Completion, model_id: str) -> None:
        r, target = c.record, c.target
        j = read_judgement(comp, self.spec)
        r.scores = [s for s in r.scores if s.target != target]
        r.scores.append(
            Score(target=target, text=c.text, expected=j.expected, parsed=j.parsed, raw=j.raw, model=model_id)
        )
        r.raw[f"judge_{target}"] = j.raw
        if target == "positive":
            r.positive_score = j.value
        elif target == "negative":
            r.negative_score = j.value
        elif target == "pair":
            r.pair_score = j.value
            if r.task == self.name:  # a random pair's provenance is the judge prompt itself
                r.prompt_ids, r.exemplar_ids, r.seed = [c.prompt_id], list(c.exemplar_ids), c.seed
        if j.value is None and self.spec.on_unparsable == "reject" and r.parse_error is None:
            r.parse_error = comp.error or f"judge_{target.split(':')[0]}_unparsable"  # the backend's reason

    def run(self, anchors: Sequence[Anchor], llm: Backend, ctx: TaskContext) -> list[Record]:
        """Without records to score (no other task in the recipe): CLAIF random pairs only."""
        return self._score(self.random_pairs(list(anchors), ctx), llm, ctx)

    def annotate(self, records: Sequence[Record], llm: Backend, ctx: TaskContext) -> list[Record]:
        """Score the records of the tasks this judge covers (same ids) and add random pairs of their anchors."""
        wanted = self.spec.score_tasks
        scored = [r for r in records if r.task != self.name and (wanted is None or r.task in wanted)]
        seen: dict[str, Anchor] = {}
        for r in scored:
            seen.setdefault(r.anchor_id, Anchor(text=r.anchor))
        return self._score(scored + self.random_pairs(list(seen.values()), ctx), llm, ctx)
