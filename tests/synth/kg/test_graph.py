"""Graph building (nodes with type/frequency, weighted co-occurrence, relations), GraphML round trip,
neighbour choice with the same-type fallback."""

import random

from synth.kg.extract import Extraction, Relation
from synth.kg.graph import (
    build_graph,
    load_graph,
    neighbourhood_seeds,
    same_type_replacement,
    save_graph,
    summary,
    summary_markdown,
)
from synth.records import Entity

D, C, G = "DRUG", "DISEASE", "GPE"


def ex(text, *ents, relations=()):
    return Extraction(
        anchor_id=text[:8],
        text=text,
        sentences=[text],
        entities=[Entity(t, ty) for t, ty in ents],
        relations=list(relations),
    )


def corpus():
    return [
        ex("Aspirin and warfarin both prevent stroke.", ("Aspirin", D), ("warfarin", D), ("stroke", C)),
        ex("aspirin lowered stroke risk in Ohio.", ("aspirin", D), ("stroke", C), ("Ohio", G)),
        ex(
            "Metformin treats diabetes.",
            ("Metformin", D),
            ("diabetes", C),
            relations=[Relation("Metformin", "treats", "diabetes")],
        ),
        ex("Insulin treats diabetes in Texas.", ("Insulin", D), ("diabetes", C), ("Texas", G)),
    ]


def test_nodes_edges_weights_and_relations():
    g = build_graph(corpus())
    assert g.nodes["aspirin"] == {"text": "Aspirin", "type": D, "freq": 2}
    assert g.edges["aspirin", "stroke"]["weight"] == 2 and g.edges["aspirin", "warfarin"]["weight"] == 1
    assert g.edges["metformin", "diabetes"]["relations"] == "treats"
    assert not g.has_edge("aspirin", "metformin")


def test_graphml_round_trip(tmp_path):
    g = build_graph(corpus())
    path = save_graph(g, tmp_path / "kg" / "graph.graphml")
    h = load_graph(path)
    assert sorted(h.nodes) == sorted(g.nodes) and h.number_of_edges() == g.number_of_edges()
    assert h.nodes["aspirin"]["freq"] == 2 and h.edges["aspirin", "stroke"]["weight"] == 2
    assert not list(path.parent.glob(".tmp-*"))


def test_replacement_prefers_same_type_neighbours_then_any_same_type():
    g = build_graph(corpus())
    rng = random.Random(0)
    # aspirin's only DRUG neighbour is warfarin
    assert same_type_replacement(g, "Aspirin", D, rng) == ("warfarin", "neighbour")
    # Metformin has no DRUG neighbour, but Insulin also co-occurs with diabetes: a two-hop neighbour
    assert same_type_replacement(g, "Metformin", D, rng) == ("Insulin", "two_hop")
    # Ohio's GPE peers: Texas shares no context with it, so any same-type entity
    assert same_type_replacement(g, "Ohio", G, rng) == ("Texas", "same_type")
    # excluded (already in the sentence) and unknown types give nothing suitable
    assert same_type_replacement(g, "Ohio", G, rng, exclude=["Texas"]) is None
    assert same_type_replacement(g, "Paris", "CITY", rng) is None


def test_summary_and_seeds():
    g = build_graph(corpus())
    s = summary(g)
    assert s["nodes"] == 8 and s["types"][D] == 4 and s["top_by_type"][D][0] == ("Aspirin", 2)
    md = summary_markdown(s)
    assert "## Knowledge graph" in md and "| DRUG | 4 |" in md
    seeds = neighbourhood_seeds(g, 2, random.Random(1))
    assert len(seeds) == 2 and all(len(x) >= 2 for x in seeds)
