from filtering_helpers import VectorEncoder, rec, unit, write_shard
from rich.console import Console

from pipelines.curate import apply_filters, load_rows
from pipelines.filters.consistency import ConsistencyFilter, ConsistencySpec
from pipelines.filters.rules import RulesFilter, RulesSpec
from pipelines.filters.thresholds import ThresholdsFilter, ThresholdsSpec
from pipelines.inspect import inspect_dataset
from pipelines.refilter import write_curated
from pipelines.report import filter_table_rows
from pipelines.shards import finished_shards

PNG = b"\x89PNG\r\n\x1a\n"


def curated(tmp_path, n=14, scores=True):
    """n records: a few too short (rules), others scored and encoded with chosen cosines."""
    records, vectors = [], {}
    for i in range(n):
        anchor = f"Anchor number {i} describes a scene in a park."
        pos = f"Positive {i} says the same about the park."
        neg = "Short." if i % 4 == 0 else f"Negative {i} shows a different place."
        vectors.update({anchor: [1.0, 0.0], pos: unit(0.5 + 0.035 * i), neg: unit(0.9 - 0.05 * i)})
        records.append(
            rec(
                anchor,
                pos,
                neg,
                seed=i,
                **({"positive_score": 1 + i % 5, "negative_score": 4 - i % 4} if scores else {}),
            )
        )
    write_shard(tmp_path / "gen", 0, records)
    rows = load_rows(finished_shards(tmp_path / "gen"))
    specs = [RulesSpec(), ConsistencySpec(), ThresholdsSpec()]
    flts = [
        RulesFilter(specs[0]),
        ConsistencyFilter(specs[1], encoder=VectorEncoder(vectors)),
        ThresholdsFilter(specs[2]),
    ]
    stats = apply_filters(rows, flts)
    summary, report = write_curated(rows, stats, tmp_path / "dataset", filters=specs, recipe_name="t")
    return rows, stats, report


def test_report_files_table_plots_and_samples(tmp_path):
    rows, stats, report = curated(tmp_path)
    ds = tmp_path / "dataset"
    md = (ds / "report.md").read_text(encoding="utf-8")
    assert set(report.plots) == {"scores", "cosines", "lengths"}
    for rel in report.plots.values():
        assert (ds / rel).read_bytes()[:8] == PNG and f"]({rel})" in md
    assert [r["stage"] for r in report.table] == ["parse", "rules", "consistency", "thresholds"]
    rules = report.table[1]
    assert (rules["in"], rules["kept"], rules["rejected"]) == (14, 10, 4) and "negative:too_short 4" in rules["reasons"]
    assert "| rules | 14 | 10 | 4 |" in md
    rejected = [r for r in rows if not r["kept"]]
    for reason in {r["reason"] for r in rejected}:
        assert f"### {reason} (" in md
    section = md.split("### consistency:positive_too_far")[1].split("###")[0]
    assert 1 <= section.count("consistency:positive_too_far |") <= 5
    card = (ds / "README.md").read_text(encoding="utf-8")
    assert "[report.md](report.md)" in card and "plots/cosines.png" in card


def test_report_without_scores_says_so_and_drops_a_stale_plot(tmp_path):
    curated(tmp_path)
    assert (tmp_path / "dataset" / "plots" / "scores.png").exists()
    _, _, report = curated(tmp_path, n=3, scores=False)
    md = (tmp_path / "dataset" / "report.md").read_text(encoding="utf-8")
    assert "scores" not in report.plots and "No judge scores" in md
    assert not (tmp_path / "dataset" / "plots" / "scores.png").exists()


def test_inspect_prints_the_report_table(tmp_path):
    _, stats, report = curated(tmp_path)
    console = Console(record=True, width=200)
    inspect_dataset(tmp_path / "dataset", console, samples=1)
    text = console.export_text()
    for row in filter_table_rows(stats):
        assert row["stage"] in text and row["kept %"] in text
    assert "report.md" in text
