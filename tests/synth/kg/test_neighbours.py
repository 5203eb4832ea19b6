"""The embedding-neighbour graph (GCSE steps 3-4) through the real reference encoder (all-MiniLM-L6-v2): close
same-type entities are linked with their cosine, far ones and other types are not; GraphML keeps it all."""

import random

from synth.kg.extract import Extraction
from synth.kg.graph import load_graph, save_graph
from synth.kg.neighbours import build_neighbour_graph, is_neighbour_graph, nearest_neighbour, random_same_type
from synth.records import Entity

C, G = "CONCEPT", "GPE"


def ex(i, *ents):
    return Extraction(anchor_id=str(i), text="", entities=[Entity(t, ty) for t, ty in ents])


def corpus():
    return [
        ex(1, ("telephone counseling", C), ("North Carolina", G)),
        ex(2, ("phone counselling", C)),
        ex(3, ("tax returns", C), ("South Carolina", G)),
        ex(4, ("telephone counseling", C), ("income taxes", C)),
    ]


def encode_with(model):
    return lambda texts: model.encode(texts, convert_to_numpy=True, normalize_embeddings=True)


def test_neighbours_come_from_the_encoder(minilm, tmp_path):
    g = build_neighbour_graph(corpus(), encode_with(minilm), k=1, encoder_name="embedded:all-minilm-l6-v2")
    assert g.nodes["telephone counseling"] == {"text": "telephone counseling", "type": C, "freq": 2}
    near = g.edges["telephone counseling", "phone counselling"]["similarity"]
    emb = encode_with(minilm)(["telephone counseling", "phone counselling"])
    assert abs(near - float(emb[0] @ emb[1])) < 1e-3 and near > 0.7
    assert not g.has_edge("telephone counseling", "tax returns")  # far: not among the top-1
    assert not g.has_edge("north carolina", "telephone counseling")  # neighbours are same-type only
    assert g.has_edge("north carolina", "south carolina")
    h = load_graph(save_graph(g, tmp_path / "graph.graphml"))
    assert is_neighbour_graph(h) and h.graph["encoder"] == "embedded:all-minilm-l6-v2"
    assert h.edges["telephone counseling", "phone counselling"]["similarity"] == near
    assert nearest_neighbour(h, "Telephone counseling", random.Random(0)) == ("phone counselling", near)
    # negatives take a random same-type entity that is not a neighbour
    assert g.has_edge("tax returns", "income taxes")
    assert {random_same_type(h, "telephone counseling", C, random.Random(i)) for i in range(8)} == {
        "tax returns",
        "income taxes",
    }
