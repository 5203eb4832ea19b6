"""Evaluation over fixture copies of the real layouts (SentEval's download incl. STS2016.* with LICENSE/README,
`STS12.<subset>.tsv` files, SICK), the SentEval avg column, broken sets reported beside the scored ones,
regression flags and MTEB-layout results. Fixture content is made up; the file names and formats are real."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from trainers.eval_report import AVG, comparison_report, flat_scores
from trainers.evaluate import SENTEVAL_SETS, EvalSpec, evaluate_model, evaluate_sets, load_set
from trainers.sts_data import EvalDataError, load_sickr, load_sts_year

FIX = Path(__file__).parent / "fixtures" / "eval-layouts"
DOWNSTREAM = FIX / "senteval" / "downstream"


class CharEncoder:
    """Deterministic bag-of-characters encoder: checks the evaluator's plumbing, not a model's quality."""

    def encode(self, texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=None):
        import numpy as np

        out = np.zeros((len(texts), 64))
        for i, t in enumerate(texts):
            for ch in t.lower():
                out[i, ord(ch) % 64] += 1
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_senteval_download_layout_every_year():
    """data_dir = SentEval's data/downstream: STS/STS1x-en-test, STS/STSBenchmark, SICK; STS 2016 under SemEval's
    own STS2016.* names with LICENSE.txt, README.txt and a scorer beside them (ignored, not parsed)."""
    assert sorted(load_sts_year("sts12", DOWNSTREAM)) == ["MSRpar", "surprise.OnWN"]  # STS.gs.ALL.txt: no input
    assert len(load_sts_year("sts12", DOWNSTREAM)["MSRpar"]) == 5  # the blank-gold pair is skipped
    s16 = load_sts_year("sts16", DOWNSTREAM)
    assert sorted(s16) == ["answer-answer", "question-question"]
    assert (s16["answer-answer"][0].s1, s16["answer-answer"][0].score) == ("A man is playing a guitar.", 4.8)
    assert {n: len(load_set(n, str(DOWNSTREAM))) for n in SENTEVAL_SETS} == {
        "sts12": 10,
        "sts13": 10,
        "sts14": 5,
        "sts15": 5,
        "sts16": 10,
        "stsb-test": 5,
        "sickr": 5,
    }
    assert [p.score for p in load_sickr(DOWNSTREAM)] == [5.0, 5.0, 1.4, 4.6, 4.1]  # test file, not SICK_train


def test_tsv_subsets_keep_their_names_and_train_files_stay_out():
    """STS12.MSRpar.tsv, STS12.MSRvid.tsv, ... are three subsets (not one key `STS12` overwritten twice)."""
    subsets = load_sts_year("sts12", FIX / "tsv")
    assert {k: len(v) for k, v in subsets.items()} == {"MSRpar": 3, "MSRvid": 4, "SMTeuroparl": 5}
    assert len(load_set("sts12", str(FIX / "tsv"))) == 12  # STS12.MSRpar.train.tsv and LICENSE not pooled


def test_two_files_for_one_subset_is_an_error_naming_both(tmp_path):
    shutil.copytree(FIX / "tsv", tmp_path, dirs_exist_ok=True)
    (tmp_path / "sts12" / "MSRvid.test.tsv").write_text("1.0\ta\tb\n", encoding="utf-8")
    with pytest.raises(EvalDataError, match=r"STS12.MSRvid.tsv and .*MSRvid.test.tsv are both subset"):
        load_sts_year("sts12", tmp_path)


def test_avg_is_the_mean_of_the_seven_and_only_with_all_seven(tmp_path):
    res = evaluate_model(CharEncoder(), EvalSpec(sets=["senteval", "stsb-dev"], data_dir=str(DOWNSTREAM)))
    assert list(res)[:8] == [*SENTEVAL_SETS, AVG]
    assert res[AVG] == pytest.approx(sum(res[s] for s in SENTEVAL_SETS) / 7)
    shutil.copytree(DOWNSTREAM / "STS", tmp_path / "STS")  # no SICK folder: six of seven
    six = evaluate_model(CharEncoder(), EvalSpec(sets=["senteval"], data_dir=str(tmp_path)))
    assert six["sickr"] is None and AVG not in six


def test_broken_set_is_reported_and_the_others_scored_and_written(tmp_path):
    data = tmp_path / "downstream"
    shutil.copytree(DOWNSTREAM, data)
    (data / "STS" / "STS14-en-test" / "STS.gs.deft-forum.txt").write_text("4.8\nfour\n0.4\n3.6\n3.1\n")
    sets = {"base": evaluate_sets(CharEncoder(), EvalSpec(sets=["senteval"], data_dir=str(data)))}
    assert sets["base"]["sts14"]["status"] == "error" and "STS.gs.deft-forum.txt:2" in sets["base"]["sts14"]["error"]
    assert all(sets["base"][s]["status"] == "ok" for s in SENTEVAL_SETS if s != "sts14")
    js, md = comparison_report(sets, tmp_path / "eval")
    text = md.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| base |"))
    assert row.count("| error |") == 1 and "avg" not in text.splitlines()[2]
    assert "Sets that could not be read" in text and "STS.gs.deft-forum.txt:2" in text
    report = json.loads(js.read_text(encoding="utf-8"))
    assert report["scores"]["base"]["sts14"] is None and isinstance(report["scores"]["base"]["sts16"], float)
    assert sorted(p.stem for p in (tmp_path / "eval" / "mteb").rglob("*.json")) == [
        "SICK-R",
        "STS12",
        "STS13",
        "STS15",
        "STS16",
        "STSBenchmark",
        "model_meta",
    ]


def test_general_loss_over_half_a_point_is_flagged_domain_loss_is_not(tmp_path):
    def sts(v):
        return {
            "status": "ok",
            "kind": "sts",
            "metrics": {"spearman": v},
            "main": "spearman",
            "n": 5,
            "error": None,
            "seconds": 0.1,
        }

    sets = {
        "base": {"stsb-test": sts(82.0), "stsb-dev": sts(86.0), "biosses": sts(80.0)},
        "trained": {"stsb-test": sts(81.4), "stsb-dev": sts(85.6), "biosses": sts(78.0)},
    }
    js, md = comparison_report(sets, tmp_path)
    flags = json.loads(js.read_text(encoding="utf-8"))["regressions"]
    assert [(f["column"], f["delta"]) for f in flags] == [("stsb-test", -0.6)]
    text = md.read_text(encoding="utf-8")
    assert "**-0.60 !**" in text and "-0.40 |" in text and "-2.00 |" in text
    assert "General sets that lost more than 0.5 points:** stsb-test (trained: -0.60)" in text
    mteb = json.loads((tmp_path / "mteb" / "trained" / "no_revision_available" / "STSBenchmark.json").read_text())
    assert mteb["task_name"] == "STSBenchmark" and mteb["scores"]["test"][0]["main_score"] == pytest.approx(0.814)
    assert mteb["scores"]["validation"][0]["cosine_spearman"] == pytest.approx(0.856)


def test_flat_scores_put_each_retrieval_metric_in_its_own_column():
    res = {
        "pubmedqa-retrieval": {
            "status": "ok",
            "kind": "retrieval",
            "main": "ndcg@10",
            "n": 4,
            "error": None,
            "seconds": 1.0,
            "metrics": {"ndcg@10": 90.0, "mrr@10": 88.0, "recall@100": 100.0},
        }
    }
    assert flat_scores(res) == {
        "pubmedqa-retrieval ndcg@10": 90.0,
        "pubmedqa-retrieval mrr@10": 88.0,
        "pubmedqa-retrieval recall@100": 100.0,
    }


def test_model_card_gets_one_evaluation_section(tmp_path):
    from trainers.eval_report import card_section

    card = tmp_path / "README.md"
    card.write_text("# my model\n\nUsage.\n", encoding="utf-8")
    card_section(card, "# Evaluation\n\n| model | avg |\n|---|---|\n| trained | 80.00 |\n")
    card_section(card, "# Evaluation\n\n| model | avg |\n|---|---|\n| trained | 81.00 |\n")
    text = card.read_text(encoding="utf-8")
    assert text.startswith("# my model\n\nUsage.") and text.count("## Evaluation (contrastive-synth)") == 1
    assert "| trained | 81.00 |" in text and "80.00" not in text


def test_constant_gold_scores_are_an_error_not_nan(tmp_path):
    (tmp_path / "sts13").mkdir()
    (tmp_path / "sts13" / "FNWN.tsv").write_text("3.0\ta b\tc d\n3.0\te f\tg h\n3.0\ti j\tk l\n", encoding="utf-8")
    res = evaluate_sets(CharEncoder(), EvalSpec(sets=["sts13"], data_dir=str(tmp_path)))["sts13"]
    assert res["status"] == "error" and "undefined" in res["error"]
