"""LLM extractor: the generator itself lists entities (with types) and relations as JSON, as GCSE does
(its step 1 prompt), constrained by a JSON schema where the backend supports it.

Entities the model invents (text not in the sentence) are dropped; an unparsable answer is recorded in
`Extraction.error` and the anchor keeps its rule quantities.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from synth.backends.base import Backend, Request, Sampling, Structured, chat_messages
from synth.kg.extract import Extraction, KnowledgeGraphSpec, Relation, finish
from synth.kg.facts import has_entity
from synth.parsing import parse_json_object
from synth.prompting import request_seed
from synth.records import Anchor, Entity

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "entities": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"text": {"type": "string"}, "type": {"type": "string"}},
                "required": ["text", "type"],
            },
        },
        "relations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"head": {"type": "string"}, "relation": {"type": "string"}, "tail": {"type": "string"}},
                "required": ["head", "relation", "tail"],
            },
        },
    },
    "required": ["entities"],
}

INSTRUCTION = (
    "Extract the entities of the sentence at different granularity (a person, organisation, place, drug, disease, "
    "method, measure...) with a short type in capitals, and the relations between them. Answer only with JSON: "
    '{"entities": [{"text": "...", "type": "..."}], "relations": [{"head": "...", "relation": "...", "tail": "..."}]}'
)
EXAMPLE_IN = "Aspirin reduced the risk of stroke in patients treated at the Mayo Clinic."
EXAMPLE_OUT = json.dumps(
    {
        "entities": [
            {"text": "Aspirin", "type": "DRUG"},
            {"text": "stroke", "type": "DISEASE"},
            {"text": "patients", "type": "POPULATION"},
            {"text": "Mayo Clinic", "type": "ORG"},
        ],
        "relations": [
            {"head": "Aspirin", "relation": "reduces risk of", "tail": "stroke"},
            {"head": "patients", "relation": "treated at", "tail": "Mayo Clinic"},
        ],
    }
)


def parse_extraction(anchor: Anchor, raw: str) -> Extraction:
    """Read the model's JSON into an Extraction; invented or malformed items are dropped, failures recorded."""
    ex = Extraction(anchor_id=anchor.id, text=anchor.text, sentences=[anchor.text])
    obj, err = parse_json_object(raw, keys=("entities",))
    if err or obj is None:
        ex.error = f"llm:{err}"
        return ex
    items = obj.get("entities")
    if not isinstance(items, list):
        ex.error = "llm:entities_not_a_list"
        return ex
    for it in items:
        if isinstance(it, dict) and isinstance(it.get("text"), str) and has_entity(anchor.text, it["text"]):
            ex.entities.append(Entity(text=it["text"].strip(), type=str(it.get("type") or "ENTITY").upper()[:24]))
    names = {e.text.casefold() for e in ex.entities}
    for r in obj.get("relations") or []:
        if (
            isinstance(r, dict)
            and all(isinstance(r.get(k), str) for k in ("head", "relation", "tail"))
            and r["head"].casefold() in names
            and r["tail"].casefold() in names
            and r["relation"].strip()
        ):
            ex.relations.append(Relation(r["head"].strip(), r["relation"].strip()[:40], r["tail"].strip()))
    return ex


class LLMExtractor:
    def __init__(self, spec: KnowledgeGraphSpec, llm: Backend, seed: int = 0):
        self.spec, self.llm, self.seed = spec, llm, seed

    def request(self, anchor: Anchor) -> Request:
        msgs = chat_messages(
            ("system", INSTRUCTION), ("user", EXAMPLE_IN), ("assistant", EXAMPLE_OUT), ("user", anchor.text)
        )
        sampling = Sampling(
            max_tokens=self.spec.llm_max_tokens,
            temperature=0.0,
            top_p=1.0,
            seed=request_seed(self.seed, "kg-extract", anchor.id),
        )
        return Request(
            messages=msgs, sampling=sampling, structured=Structured(kind="json", spec=SCHEMA), meta={"anchor": anchor}
        )

    def extract(self, anchors: Sequence[Anchor]) -> list[Extraction]:
        completions = self.llm.generate([self.request(a) for a in anchors])
        return [finish(parse_extraction(a, c.text), self.spec) for a, c in zip(anchors, completions)]
