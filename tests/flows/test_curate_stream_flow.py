"""The real curate stage (`flows.curate.curate`, what `synth filter` runs) streams: on a planned run of many rows
the filters see bounded batches, never the whole dataset, the data is written in size-bounded files as it goes,
and the decisions, report and card figures equal the whole-list curate's on the same shards."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

FILTERS = [{"name": "rules"}, {"name": "dedup"}, {"name": "decontam"}]
ROWS = 1500


@pytest.mark.slow  # a real Prefect flow, as test_filter_flow: the temporary server's start is most of its time
def test_curate_flow_streams_a_planned_run_in_bounded_batches(tmp_path, monkeypatch):
    from scale import write_generated

    import pipelines.curate_stream
    import pipelines.dataset
    from flows.curate import curate
    from flows.planning import make_plan
    from flows.recipe import load_recipe, recipe_toml
    from pipelines.curate import apply_filters, load_rows
    from pipelines.dataset import read_dataset_rows
    from pipelines.filters import build_filter
    from pipelines.filters.rules import RulesFilter
    from pipelines.report import ReportStats

    run = tmp_path / "run"
    shards = write_generated(ROWS, run / "generated" / "pairs", 750)
    recipe = load_recipe("recipes/quickstart.toml", {"output_dir": str(run), "name": "streamtest", "filters": FILTERS})
    (run / "recipe.toml").write_text(recipe_toml(recipe), encoding="utf-8")
    make_plan(recipe).resolve("generate:pairs", shards)  # as `synth generate` would have planned them

    seen: list[int] = []
    monkeypatch.setenv("CSYNTH_CURATE_WORKERS", "0")  # every batch's rules in this process, where `seen` counts
    verdicts = RulesFilter.verdicts
    monkeypatch.setattr(RulesFilter, "verdicts", lambda self, recs: (seen.append(len(recs)), verdicts(self, recs))[1])
    monkeypatch.setattr(pipelines.dataset, "ROWS_PER_FILE", 500)  # the defaults (4096, 50k) at a test's size
    monkeypatch.setattr(pipelines.curate_stream, "BATCH_ROWS", 200)
    ds = Path(curate(recipe))

    assert sum(seen) == ROWS and max(seen) <= 200  # batches: the whole list would be one call of 1500
    files = sorted((ds / "data").glob("train-*.parquet"))
    sizes = [pq.read_metadata(f).num_rows for f in files]
    stats = json.loads((ds / "stats.json").read_text())
    assert len(files) == 3 and max(sizes) == 500 and sum(sizes) == stats["kept"]

    whole = load_rows(shards)  # today's whole-list decisions on the same shards
    apply_filters(whole, [build_filter(f) for f in recipe.filters])
    streamed = read_dataset_rows(ds, "data") + read_dataset_rows(ds, "rejects")
    assert sorted((r["id"], r["reason"]) for r in streamed) == sorted((r["id"], r["reason"]) for r in whole)
    assert stats["rejects_by_reason"]["dedup:near_duplicate:all"] > 30

    want = ReportStats.of(whole)  # histograms summed per batch equal those of the whole list
    md = (ds / "report.md").read_text()
    assert f"{want.kept} of {ROWS} generated records kept" in md
    assert all((ds / "plots" / f"{p}.png").exists() for p in ("lengths",))
    assert "report.md" in (ds / "README.md").read_text()


def test_report_stats_summed_over_batches_equal_the_whole_list(tmp_path):
    from scale import write_generated

    from pipelines.curate import apply_filters, load_rows
    from pipelines.filters import build_filter
    from pipelines.filters.dedup import DedupSpec
    from pipelines.filters.rules import RulesSpec
    from pipelines.report import ReportStats, write_report
    from pipelines.synthesis_card import SynthesisTally, section

    rows = load_rows(write_generated(1500, tmp_path / "g", 1500))
    for i, r in enumerate(rows[:300]):
        r["positive_score"], r["negative_score"] = float(i % 6), float((i * 7) % 6) / 2
        r["cos_pos"], r["cos_neg"] = 0.5 + (i % 50) / 100, i / 1000  # typed columns since schema v2
        r["scores"] = [
            {
                "target": "positive",
                "text": r["positive"],
                "expected": None,
                "parsed": float(i % 6),
                "raw": "",
                "model": "m",
            }
        ]
    apply_filters(rows, [build_filter(RulesSpec()), build_filter(DedupSpec())])
    summed, tally = ReportStats(), SynthesisTally()
    for i in range(0, len(rows), 128):
        summed.add(rows[i : i + 128])
        tally.add(rows[i : i + 128])
    assert summed == ReportStats.of(rows)
    assert sum(summed.lengths["anchor"].values()) == len(rows) and sum(summed.scores["positive"].values()) == 300
    assert summed.write([], tmp_path / "a").markdown == write_report(rows, [], tmp_path / "b").markdown
    text = section(tally)
    assert text == section(rows) and "| pairs | 1500 | 300 |" in text and "positive 2.51 (n=253)" in text
