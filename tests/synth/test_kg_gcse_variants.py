"""GCSE's use of the embedding-neighbour graph in kg_variants: a positive replaces one entity with a close neighbour
(under the real reference encoder) and keeps every other fact; an entity-swap negative takes a random same-type
entity that is not a neighbour. The LLM is a scripted echo (control flow only); the graph is real."""

import json

import pytest
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
    exs = [
        Extraction(
            A.id, A.text, [A.text], [Entity("Telephone counseling", C), Entity("Ohio", "GPE")], find_quantities(A.text)
        ),
        Extraction("b", "", entities=[Entity("phone counselling", C), Entity("tax returns", C)]),
        Extraction("c", "", entities=[Entity("income taxes", C)]),
    ]
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
    assert (
        seen[0] == "Sentence: Phone counselling raised screening by 12% in Ohio.\n"
        "Keep exactly: phone counselling; Ohio; 12%"
    )
    assert r.positive == "Phone counselling raised screening by 12% in Ohio."
    assert r.raw["positive_swap_before"] == "Telephone counseling"
    assert r.raw["positive_swap_after"] == "phone counselling"
    assert r.checks["kg_positive_neighbour_sim"] > 0.7
    assert positive_reason(r) is None  # the knowledge filter checks the neighbour in place of the swapped entity
    assert r.changed_fact.before == "Telephone counseling" and r.changed_fact.after in {"tax returns", "income taxes"}
    assert r.checks["kg_replacement_hops"] == 0.0 and negative_reason(r) is None


class Recording:
    """Delegates to a real backend and keeps the requests it was sent (to read the exact prompts)."""

    def __init__(self, backend):
        self.backend, self.requests = backend, []

    def generate(self, requests):
        self.requests += list(requests)
        return self.backend.generate(requests)


@pytest.mark.slow
def test_style_pool_draw_is_recorded_and_in_the_prompt(tmp_path, smollm):
    from synth.prompting import load_instructions

    pos_pool = {s.id: s.text for s in load_instructions("kg/positive_styles.json")}
    neg_pool = {s.id: s.text for s in load_instructions("kg/negative_styles.json")}
    llm = Recording(smollm)
    spec = KGVariantsSpec(style_rate=1.0, negative_weights={"refute": 1.0}, exemplars=1)
    ctx = TaskContext(seed=3, sampling=Sampling(max_tokens=8), shard="0", extras={})
    (r,) = build_task(spec).run([A], llm, ctx)
    pos_style, neg_style = r.prompt_ids[2:]
    assert pos_style in pos_pool and neg_style in neg_pool and r.prompt_ids[0].startswith("kg-pos-")
    pos_req, neg_req = llm.requests
    assert pos_req.messages[0]["content"].split(" Please do not")[0].endswith(" " + pos_pool[pos_style])
    assert neg_req.messages[0]["content"].split(" Please do not")[0].endswith(" " + neg_pool[neg_style])
    assert r.positive and r.raw["positive"]  # the embedded model answered the styled prompt


def test_style_rate_decides_the_share_of_styled_requests(tmp_path):
    llm = ScriptedBackend(echo_sentence)
    anchors = [Anchor(f"Telephone counseling raised screening by {i}% in Ohio.") for i in range(1, 41)]
    ctx = TaskContext(seed=3, sampling=Sampling(max_tokens=8), shard="0", extras={})
    plain = build_task(KGVariantsSpec(negative_weights={"refute": 1.0})).run(anchors, llm, ctx)
    assert all(len(r.prompt_ids) == 2 for r in plain)  # style_rate 0: today's prompts
    half = build_task(KGVariantsSpec(style_rate=0.5, negative_weights={"refute": 1.0})).run(anchors, llm, ctx)
    styled = sum(len(r.prompt_ids) - 2 for r in half)
    assert 25 <= styled <= 55  # of 80 requests, about half
