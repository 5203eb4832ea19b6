"""kg_variants control flow with a scripted LLM: fact lists in prompts, negative kinds chosen among those an
anchor allows, deterministic edits verified, fallback to the edited sentence, parse failures recorded."""

import json

import pytest
from doubles import ScriptedBackend

from synth.backends.base import Sampling
from synth.kg.extract import Extraction
from synth.kg.graph import build_graph, save_graph
from synth.kg.quantities import find_quantities
from synth.records import Anchor, Entity
from synth.tasks import build_task
from synth.tasks.base import TaskContext
from synth.tasks.kg_variants import KGVariantsSpec

A1 = Anchor("Aspirin lowered stroke risk by 12% in 1,200 adults.")
A2 = Anchor("Warfarin prevented stroke in Ohio.")
A3 = Anchor("The effects were most pronounced after the intervention.")


def extractions(tmp_path):
    exs = [
        Extraction(
            A1.id,
            A1.text,
            [A1.text],
            [Entity("Aspirin", "DRUG"), Entity("stroke", "DISEASE")],
            find_quantities(A1.text),
        ),
        Extraction(
            A2.id,
            A2.text,
            [A2.text],
            [Entity("Warfarin", "DRUG"), Entity("stroke", "DISEASE"), Entity("Ohio", "GPE")],
            [],
        ),
    ]
    path = tmp_path / "extractions.jsonl"
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in exs), encoding="utf-8")
    graph = save_graph(build_graph(exs), tmp_path / "graph.graphml")
    return {"extractions_path": str(path), "graph_path": str(graph), "graph_key": "k1"}


def ctx(extras):
    return TaskContext(seed=3, sampling=Sampling(max_tokens=32), shard="00000", extras=extras)


def echo_sentence(req):
    """A 'model' that copies the sentence it was given (the query's first line, without its label)."""
    return req.messages[-1]["content"].split("\n")[0].removeprefix("Sentence: ")


@pytest.mark.parametrize("kind", ["entity_swap", "quantity_change", "refute"])
def test_each_negative_kind(tmp_path, kind):
    extras = extractions(tmp_path)
    llm = ScriptedBackend(
        lambda r: (
            "It is not true."
            if "Contradict" in r.messages[0]["content"] or "refute" in r.messages[0]["content"]
            else echo_sentence(r)
        )
    )
    task = build_task(KGVariantsSpec(negative_weights={kind: 1.0}, exemplars=1))
    recs = task.run([A1, A2], llm, ctx(extras))
    assert llm.calls == [4] and len(recs) == 2
    r = recs[0]
    assert r.negative_kind == kind and r.changed_fact.kind == kind and r.parse_error is None
    assert [e.text for e in r.entities] == ["Aspirin", "stroke"] and [q.text for q in r.quantities] == ["12%", "1,200"]
    if kind == "entity_swap":
        assert r.changed_fact.before == "Aspirin" and r.changed_fact.after == "Warfarin"
        assert r.negative == A1.text.replace("Aspirin", "Warfarin")
        assert r.checks["kg_replacement_hops"] == 2.0  # both co-occur with "stroke"
    elif kind == "quantity_change":
        assert r.changed_fact.before in A1.text and r.changed_fact.after in r.negative
        assert r.negative != A1.text and r.raw["edited"] == r.negative
    else:
        assert r.negative == "It is not true." and r.changed_fact.before == A1.text
    assert r.positive == A1.text  # the echo model copies; the rules filter rejects such copies later


def test_prompt_lists_every_fact(tmp_path):
    seen = []
    llm = ScriptedBackend(lambda r: seen.append(r.messages[-1]["content"]) or "x y z")
    build_task(KGVariantsSpec(negative_weights={"refute": 1.0})).run([A1], llm, ctx(extractions(tmp_path)))
    assert seen[0] == f"Sentence: {A1.text}\nKeep exactly: Aspirin; stroke; 12%; 1,200"


def test_kind_falls_back_when_an_anchor_does_not_allow_it(tmp_path):
    llm = ScriptedBackend(echo_sentence)
    recs = build_task(KGVariantsSpec(negative_weights={"quantity_change": 1.0, "refute": 0.0})).run(
        [A3], llm, ctx(extractions(tmp_path))
    )
    assert recs[0].negative_kind == "refute"  # no number to change, no entity to swap
    assert recs[0].checks.get("kg_extraction_failed") == 1.0  # A3 was not in the extraction file


def test_rewrite_that_loses_a_fact_falls_back_to_the_edit(tmp_path):
    llm = ScriptedBackend(lambda r: "Something vague happened.")
    spec = KGVariantsSpec(negative_weights={"entity_swap": 1.0})
    [r] = build_task(spec).run([A1], llm, ctx(extractions(tmp_path)))
    assert r.negative == A1.text.replace("Aspirin", "Warfarin") and r.checks["kg_negative_from_edit"] == 1.0
    assert r.raw["negative"] == "Something vague happened."
    [r] = build_task(spec.model_copy(update={"fallback_to_edit": False})).run([A1], llm, ctx(extractions(tmp_path)))
    assert r.negative == "Something vague happened." and "kg_negative_from_edit" not in r.checks


def test_edit_only_mode_makes_no_negative_requests(tmp_path):
    llm = ScriptedBackend(echo_sentence)
    spec = KGVariantsSpec(negative_weights={"quantity_change": 1.0}, rewrite_negatives=False, samples=2)
    recs = build_task(spec).run([A1], llm, ctx(extractions(tmp_path)))
    assert llm.calls == [2] and len({r.id for r in recs}) == 2
    assert all(r.prompt_ids[1] == "edit:quantity_change" for r in recs)


def test_unparsable_output_is_a_recorded_rejection(tmp_path):
    llm = ScriptedBackend(lambda r: "")
    [r] = build_task(KGVariantsSpec(negative_weights={"refute": 1.0})).run([A1], llm, ctx(extractions(tmp_path)))
    assert r.parse_error == "positive_empty"


def test_without_a_graph_stage_the_shard_builds_its_own(tmp_path):
    llm = ScriptedBackend(echo_sentence)
    recs = build_task(KGVariantsSpec(negative_weights={"quantity_change": 1.0})).run([A1], llm, ctx({}))
    assert recs[0].negative_kind == "quantity_change" and recs[0].quantities


def test_unknown_negative_kind_is_a_config_error():
    with pytest.raises(ValueError, match="unknown negative kinds"):
        KGVariantsSpec(negative_weights={"swap": 1.0})


def test_a_request_the_server_refuses_is_that_records_recorded_reason():
    """A 400 from a real HTTP server (127.0.0.1) for one anchor's requests: that record carries the server's reason,
    the other anchor's record is unaffected, and the shard is not failed."""
    from fault_server import FaultServer, sentence_answer

    from synth.backends.openai_backend import OpenAIBackend, OpenAISpec

    bad = Anchor("OVERLONG Warfarin prevented stroke in Ohio.")
    with FaultServer(rules=[("OVERLONG", "400")], answer=sentence_answer) as srv:
        llm = OpenAIBackend(
            OpenAISpec(model="stub-model", base_url=srv.url, max_retries=1, backoff_s=0.01, timeout_s=5)
        )
        good_rec, bad_rec = build_task(KGVariantsSpec(negative_weights={"refute": 1.0}, exemplars=0)).run(
            [A3, bad], llm, ctx({})
        )
    assert good_rec.parse_error is None and good_rec.negative_kind == "refute"
    assert bad_rec.parse_error.startswith("http_400@") and "maximum context length" in bad_rec.parse_error
