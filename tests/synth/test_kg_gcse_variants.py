"""GCSE's use of the embedding-neighbour graph in kg_variants: a positive replaces one entity with a close neighbour
(under the real reference encoder) and keeps every other fact; an entity-swap negative takes a random same-type
entity that is not a neighbour. The LLM is a scripted echo (control flow only); the graph is real."""
import json

from doubles import ScriptedBackend
from pipelines.filters.knowledge import negative_reason, positive_reason
from synth.backends.base import Sampling
from synth.kg.extract import Extraction
from synth.kg.graph import save_graph
from synth.kg.neighbours import build_neighbour_graph
from synth.kg.quantities import find_quantities
from synth.records import Anchor, Entity
from synth.tasks import build_task
from synth.tasks.base import TaskContext
from synth.tasks.kg_variants import KGVariantsSpec

C = "CONCEPT"
A = Anchor("Telephone counseling raised screening by 12% in Ohio.")


def neighbour_extras(tmp_path, minilm):
    exs = [Extraction(A.id, A.text, [A.text], [Entity("Telephone counseling", C), Entity("Ohio", "GPE")],
                      find_quantities(A.text)),
           Extraction("b", "", entities=[Entity("phone counselling", C), Entity("tax returns", C)]),
           Extraction("c", "", entities=[Entity("income taxes", C)])]
    path = tmp_path / "extractions.jsonl"
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in exs), encoding="utf-8")
    g = build_neighbour_graph(exs, lambda t: minilm.encode(t, convert_to_numpy=True, normalize_embeddings=True), k=1)
    return {"extractions_path": str(path), "graph_path": str(save_graph(g, tmp_path / "g.graphml")), "graph_key": "n"}


def echo_sentence(req):
    return req.messages[-1]["content"].split("\n")[0].removeprefix("Sentence: ")


def test_neighbour_positive_and_random_negative(tmp_path, minilm):
    seen = []
    llm = ScriptedBackend(lambda r: seen.append(r.messages[-1]["content"]) or echo_sentence(r))
    spec = KGVariantsSpec(positive_weights={"neighbour_swap": 1.0}, negative_weights={"entity_swap": 1.0})
    ctx = TaskContext(seed=3, sampling=Sampling(max_tokens=16), shard="0", extras=neighbour_extras(tmp_path, minilm))
    (r,) = build_task(spec).run([A], llm, ctx)
    assert seen[0] == "Sentence: Phone counselling raised screening by 12% in Ohio.\n" \
                      "Keep exactly: phone counselling; Ohio; 12%"
    assert r.positive == "Phone counselling raised screening by 12% in Ohio."
    assert r.raw["positive_swap_before"] == "Telephone counseling" and r.raw["positive_swap_after"] == "phone counselling"
    assert r.checks["kg_positive_neighbour_sim"] > 0.7
    assert positive_reason(r) is None  # the knowledge filter checks the neighbour in place of the swapped entity
    assert r.changed_fact.before == "Telephone counseling" and r.changed_fact.after in {"tax returns", "income taxes"}
    assert r.checks["kg_replacement_hops"] == 0.0 and negative_reason(r) is None
