"""The comparison bench's aggregation: mean and sample sd over seeds, missing sets named once, skipped arms."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from trainers import sweep

spec = importlib.util.spec_from_file_location(
    "scratch_comparison", Path(__file__).resolve().parent.parent / "bench" / "scratch_comparison.py"
)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_summarise_mean_and_sample_sd_and_missing():
    s = sweep.summarise([{"stsb-dev": 40.0, "sts12": None}, {"stsb-dev": 44.0, "sts12": None}])
    assert s["stsb-dev"]["mean"] == 42.0
    assert s["stsb-dev"]["sd"] == pytest.approx(2**0.5 * 2)
    assert s["sts12"] == {"mean": None, "sd": None}
    assert sweep.summarise([{"stsb-dev": 40.0}])["stsb-dev"]["sd"] is None


def test_table_hides_sets_missing_everywhere_and_keeps_skipped_arms():
    runs = [
        {"train_s": 10.0, "steps": 5, "rows": {"infonce": 80}},
        {"train_s": 12.0, "steps": 5, "rows": {"infonce": 80}},
    ]
    results = {
        "base": {"runs": [], "summary": sweep.summarise([{"stsb-dev": 36.0, "sickr": None}])},
        "synth-pairs": {
            "lr": 4e-4,
            "runs": runs,
            "summary": sweep.summarise([{"stsb-dev": 37.0, "sickr": None}, {"stsb-dev": 39.0, "sickr": None}]),
        },
        "synth-full": {"skipped": "dataset has no judge scores"},
    }
    lines, missing = bench.table(results)
    assert missing == ["sickr"]
    assert lines[0].startswith("| arm | stsb-dev | lr | seeds |")
    assert "| synth-pairs | 38.00 ± 1.41 | 0.0004 | 2 | 5 | 11.0 |" in lines[3]
    assert "skipped: dataset has no judge scores" in lines[4]


def test_finished_runs_are_read_back_not_retrained(tmp_path, monkeypatch):
    """An interrupted comparison resumes: a run with run.json and the same key is not trained again; a changed
    recipe (here the epochs) trains again. Control flow only: training and scoring are stand-ins here."""
    import trainers.evaluate as ev
    import trainers.model as tm
    import trainers.train as tr
    from trainers.evaluate import EvalSpec
    from trainers.losses.infonce import InfoNCESpec
    from trainers.train import TrainResult, TrainSpec

    calls = []

    def fake_fit(data, ts, out_dir):
        calls.append(ts.epochs)
        out_dir.mkdir(parents=True, exist_ok=True)
        return TrainResult(
            model_dir=out_dir, train_rows=2, steps=3, seconds=1.0, loss=0.5, rows_per_objective={"infonce": 2}
        )

    monkeypatch.setattr(tr, "fit", fake_fit)
    monkeypatch.setattr(tm, "build_model", lambda *a, **k: None)
    monkeypatch.setattr(ev, "evaluate_model", lambda model, es: {"stsb-dev": 40.0})
    data = {"infonce": (InfoNCESpec(), {"anchor": ["a", "b"], "positive": ["c", "d"]})}
    ts, es = TrainSpec(epochs=1), EvalSpec()
    first = sweep.train_and_score("synth-pairs", data, ts, 42, 4e-4, es, tmp_path)
    again = sweep.train_and_score("synth-pairs", data, ts, 42, 4e-4, es, tmp_path)
    assert calls == [1] and again == first
    assert (tmp_path / "synth-pairs-lr0.0004-seed42" / "run.json").exists()
    sweep.train_and_score("synth-pairs", data, TrainSpec(epochs=2), 42, 4e-4, es, tmp_path)
    assert calls == [1, 2]
