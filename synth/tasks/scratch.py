"""SynCSE-scratch (Zhang, Lan, He 2023): the LLM writes the anchors itself, then the pairs task (or any
other) runs on them. Each request names a genre and a few topics sampled from a grid ("..., etc." so the
model is not topic-bound); genres are visited round-robin so the grid is covered evenly. For a domain,
give its topics (and genres) and a few example sentences: they become the few-shot demonstrations.

Every candidate ends as an anchor or a `ScratchReject` with its reason (empty, refusal, too_short,
too_long, copy_of_example, duplicate); nothing is dropped silently.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from synth.backends.base import Backend, Completion, Request, Sampling
from synth.parsing import clean_sentence
from synth.prompting import PROMPTS_DIR, Exemplar, few_shot_chat, load_exemplars, load_instructions, request_seed
from synth.records import Anchor, content_id
from synth.tasks.single_round import Prompted, run_rounds

_REFUSAL = re.compile(
    r"\b(as an ai|i (?:can(?:not|'t)|am unable|won't)|i'm sorry|sorry,|language model|"
    r"here is|here's|sure[,!])",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]+")


class ScratchSpec(BaseModel):
    """The recipe's optional `[scratch]` section: when present, anchors come from the LLM, not the corpus."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    anchors: int = Field(64, ge=1, description="how many distinct anchors to write")
    genres: list[str] | None = Field(None, description="default: synth/prompts/scratch/grid.json")
    topics: list[str] | None = Field(None, description="default: grid.json; for a domain, its topic list")
    topics_per_prompt: int = Field(6, ge=1, le=20)
    examples: list[str] = Field(default_factory=list, description="example sentences from the user's domain")
    examples_file: str | None = Field(None, description="a text file, one example sentence per line")
    exemplars: int = Field(3, ge=0, le=10, description="demonstrations per request")
    oversample: float = Field(1.5, ge=1.0, le=10, description="requests per missing anchor in a round")
    max_rounds: int = Field(3, ge=1, le=20, description="rounds of requests until `anchors` distinct ones exist")
    min_words: int = Field(5, ge=1)
    max_words: int = Field(60, ge=2)
    temperature: float = Field(1.0, ge=0, le=2, description="SynCSE samples the sentences freely")
    max_tokens: int = Field(64, ge=8)
    shard_size: int = Field(16, ge=1, description="anchors per shard")
    instructions: str = "scratch/instructions.json"
    exemplar_pool: str = "scratch/exemplars.jsonl"

    @model_validator(mode="after")
    def _check(self) -> "ScratchSpec":
        if self.min_words > self.max_words:
            raise ValueError(f"min_words ({self.min_words}) must not exceed max_words ({self.max_words})")
        if self.genres is not None and not self.genres:
            raise ValueError("genres must not be empty (leave it out for the default grid)")
        if self.topics is not None and not self.topics:
            raise ValueError("topics must not be empty (leave it out for the default grid)")
        if self.examples_file and not Path(self.examples_file).is_file():
            raise ValueError(f"examples_file {self.examples_file!r}: no such file")
        return self


@dataclass(frozen=True)
class ScratchReject:
    text: str
    reason: str
    genre: str
    topics: str


@lru_cache(maxsize=1)
def default_grid() -> dict[str, list[str]]:
    return json.loads((PROMPTS_DIR / "scratch" / "grid.json").read_text(encoding="utf-8"))


def domain_examples(spec: ScratchSpec) -> list[str]:
    out = list(spec.examples)
    if spec.examples_file:
        out += [ln.strip() for ln in Path(spec.examples_file).read_text(encoding="utf-8").splitlines() if ln.strip()]
    return out


def normalise(text: str) -> str:
    """The form duplicates are compared in: lower-case, letters and digits only, single spaces."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _query(genre: str, topics: Sequence[str]) -> str:
    return f"Genre: {genre}\nTopics: {', '.join(topics)}, etc."


def scratch_request(spec: ScratchSpec, seed: int, round_: int, i: int) -> tuple[Request, str, str]:
    """One request for a sentence from grid cell (genre i mod G, sampled topics)."""
    grid = default_grid()
    genres, topics = spec.genres or grid["genres"], spec.topics or grid["topics"]
    rng = random.Random(request_seed(seed, "scratch-grid", round_, i))
    genre = genres[(round_ * 7919 + i) % len(genres)]
    chosen = rng.sample(topics, min(spec.topics_per_prompt, len(topics)))
    examples = domain_examples(spec)
    if examples:
        picks = rng.sample(examples, min(spec.exemplars, len(examples)))
        shots = [
            Exemplar(
                id=content_id("example", t),
                input=_query(rng.choice(genres), rng.sample(topics, min(3, len(topics)))),
                output=t,
            )
            for t in picks
        ]
    else:
        pool = load_exemplars(spec.exemplar_pool)
        shots = rng.sample(list(pool), min(spec.exemplars, len(pool)))
    inst = load_instructions(spec.instructions)[0]
    sampling = Sampling(
        max_tokens=spec.max_tokens, temperature=spec.temperature, seed=request_seed(seed, "scratch", round_, i)
    )
    req = Request(messages=few_shot_chat(inst.text, shots, _query(genre, chosen)), sampling=sampling)
    return req, genre, ", ".join(chosen)


def check_candidate(text: str | None, spec: ScratchSpec, examples: set[str]) -> str | None:
    """Why a written sentence cannot be an anchor (before deduplication), or None."""
    if not text:
        return "empty"
    if _REFUSAL.search(text):
        return "refusal"
    n = len(_WORD.findall(text))
    if n < spec.min_words:
        return "too_short"
    if n > spec.max_words:
        return "too_long"
    if normalise(text) in examples:
        return "copy_of_example"
    return None


@dataclass(frozen=True)
class Cell:
    """The grid cell a request asked about, kept with a reject so the grid's failures can be read."""

    genre: str
    topics: str


def write_anchors(spec: ScratchSpec, llm: Backend, seed: int) -> tuple[list[Anchor], list[ScratchReject]]:
    """Rounds of generation until `spec.anchors` distinct sentences exist (or max_rounds); exact and
    normalised duplicates are rejected. One backend call per round (`run_rounds`)."""
    anchors: list[Anchor] = []
    rejects: list[ScratchReject] = []
    seen: set[str] = set()
    examples = {normalise(t) for t in domain_examples(spec)}
    examples |= {normalise(e.output) for e in load_exemplars(spec.exemplar_pool)}

    def requests_for(round_: int) -> list[Prompted[Cell]]:
        missing = spec.anchors - len(anchors)  # none missing: nothing to ask, the rounds end
        return [
            Prompted(req, Cell(genre, topics))
            for req, genre, topics in (
                scratch_request(spec, seed, round_, i) for i in range(math.ceil(max(missing, 0) * spec.oversample))
            )
        ]

    def read(p: Prompted[Cell], comp: Completion) -> None:
        text, err = clean_sentence(comp.text)
        reason = comp.error or err or check_candidate(text, spec, examples)  # a backend failure says why
        if reason is None and normalise(text) in seen:
            reason = "duplicate"
        if reason is None and len(anchors) >= spec.anchors:
            reason = "surplus"
        if reason:
            rejects.append(ScratchReject(text=comp.text, reason=reason, genre=p.context.genre, topics=p.context.topics))
            return
        seen.add(normalise(text))
        anchors.append(Anchor(text=text, source=f"scratch:{p.context.genre}", line=len(anchors) + 1))

    run_rounds(llm, spec.max_rounds, requests_for, read)
    return anchors, rejects
