"""The in-memory record every generation task produces, whatever its kind.

One shape for all tasks (pairs, judge scores, ranked lists, knowledge-graph variants) so that
filters, writers and trainers never branch on the task. `pipelines.schema` maps it to Arrow.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


def content_id(*parts: Any, length: int = 16) -> str:
    """A stable hex id derived from the parts' JSON: identical inputs always give the same id."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


@dataclass(frozen=True)
class Anchor:
    """A source sentence with where it came from (file and 1-based line, or the task that wrote it)."""

    text: str
    source: str = ""
    line: int = 0
    given: str = ""  # JSON rows of an existing paired/labelled corpus (pipelines/paired_corpus.py); "" otherwise

    @property
    def id(self) -> str:
        return content_id("anchor", self.text)


@dataclass
class Score:
    """One AI-feedback judgement of (anchor, text) on a fixed scale."""

    target: str  # "positive", "negative", "pair", "ranked:<i>"
    text: str
    expected: float | None  # expectation over the score tokens' probabilities
    parsed: float | None  # the number the judge wrote
    raw: str = ""
    model: str = ""


@dataclass
class Entity:
    text: str
    type: str


@dataclass
class Quantity:
    text: str
    value: float | None = None
    unit: str = ""
    kind: str = "number"  # number | percent | money | date | ordinal | ...


@dataclass
class ChangedFact:
    """What a knowledge-guided hard negative changed: kind is entity_swap | quantity_change | refute."""

    kind: str
    before: str = ""
    after: str = ""


@dataclass
class Record:
    """One synthesised example; optional fields stay None when a task does not produce them."""

    task: str
    anchor_id: str
    anchor: str
    positive: str | None = None
    negative: str | None = None
    negative_kind: str | None = None
    text_b: str | None = None  # second sentence of a scored pair (CLAIF random / graded pairs)
    pair_score: float | None = None
    positive_score: float | None = None
    negative_score: float | None = None
    ranked: list[str] | None = None
    ranked_mode: str | None = None
    scores: list[Score] = field(default_factory=list)
    checks: dict[str, float] = field(default_factory=dict)  # e.g. ranked_monotone_encoder = 1.0
    entities: list[Entity] = field(default_factory=list)
    quantities: list[Quantity] = field(default_factory=list)
    changed_fact: ChangedFact | None = None
    prompt_ids: list[str] = field(default_factory=list)
    exemplar_ids: list[str] = field(default_factory=list)
    seed: int = 0
    sample_index: int = 0
    raw: dict[str, str] = field(default_factory=dict)  # the LLM's untouched outputs, by role
    parse_error: str | None = None  # set when the output could not be read: a recorded rejection

    @property
    def id(self) -> str:
        """Content-derived: the same task, anchor, prompts, seed and sample always give the same id."""
        return content_id(
            self.task, self.anchor_id, self.text_b, self.prompt_ids, self.exemplar_ids, self.seed, self.sample_index
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["id"] = self.id
        return d
