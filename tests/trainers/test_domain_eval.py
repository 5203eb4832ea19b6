"""Domain sets with the real all-MiniLM-L6-v2: BIOSSES (Spearman over every pair) and question -> abstract
retrieval (nDCG@10, MRR@10, Recall@100 through sentence-transformers' evaluator), read from a user's data_dir,
and `synth evaluate` printing one table with the SentEval avg and the domain metrics."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from trainers.domain_data import load_biosses, load_retrieval
from trainers.evaluate import EvalSpec, evaluate_sets

FIX = Path(__file__).parent / "fixtures" / "eval-layouts"
ROOT = Path(__file__).resolve().parents[2]


def test_shipped_pubmedqa_retrieval_set_is_whole():
    rs = load_retrieval("pubmedqa_retrieval", None)
    assert (len(rs.queries), len(rs.corpus)) == (500, 1000)
    assert all(len(d) == 1 and d <= rs.corpus.keys() for d in rs.relevant.values())


def test_biosses_is_not_shipped_and_comes_from_data_dir(shared_data):
    from trainers.sts_data import MissingEvalSet

    with pytest.raises(MissingEvalSet, match="GPL-3.0"):
        load_biosses(None)
    pairs = load_biosses(shared_data / "domain-biomedical")
    assert len(pairs) == 100 and max(p.score for p in pairs) <= 4.0


def test_domain_sets_scored_with_minilm(minilm, tmp_path):
    res = evaluate_sets(minilm, EvalSpec(sets=["biosses", "pubmedqa-retrieval"], data_dir=str(FIX / "domain")))
    assert res["biosses"]["status"] == "ok" and res["biosses"]["n"] == 5
    assert res["biosses"]["metrics"]["spearman"] > 50  # made-up pairs graded from paraphrase to unrelated
    r = res["pubmedqa-retrieval"]
    assert (r["status"], r["n"], r["main"]) == ("ok", 4, "ndcg@10")
    assert r["metrics"]["recall@100"] == 100.0 and r["metrics"]["mrr@10"] == pytest.approx(100.0)
    bad = tmp_path / "domain"
    shutil.copytree(FIX / "domain", bad)
    with open(bad / "pubmedqa_retrieval_qrels.tsv", "a", encoding="utf-8") as f:
        f.write("q1001\t9999\t1\n")
    res = evaluate_sets(minilm, EvalSpec(sets=["pubmedqa-retrieval", "biosses"], data_dir=str(bad)))
    assert res["pubmedqa-retrieval"]["status"] == "error" and "qrels.tsv:6" in res["pubmedqa-retrieval"]["error"]
    assert res["biosses"]["status"] == "ok"


@pytest.mark.slow
def test_cli_evaluate_prints_one_table_with_avg_and_domain_metrics(tmp_path):
    data = tmp_path / "eval-data"
    shutil.copytree(FIX / "senteval" / "downstream", data)
    for f in (FIX / "domain").iterdir():
        shutil.copy(f, data / f.name)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [
        str(ROOT / ".venv" / "bin" / "synth"),
        "evaluate",
        str(ROOT / "recipes" / "biomedical.toml"),
        "--set",
        f'output_dir="{tmp_path / "run"}"',
        "--set",
        f'evaluate.data_dir="{data}"',
        "--set",
        'evaluate.sets=["senteval", "biosses", "pubmedqa-retrieval"]',
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    header = next(line for line in out.stdout.splitlines() if line.startswith("| model |"))
    cols = [c.strip() for c in header.strip("|").split("|")]
    assert cols == [
        "model",
        "sts12",
        "sts13",
        "sts14",
        "sts15",
        "sts16",
        "stsb-test",
        "sickr",
        "avg",
        "biosses",
        "pubmedqa-retrieval ndcg@10",
        "pubmedqa-retrieval mrr@10",
        "pubmedqa-retrieval recall@100",
    ]
    row = next(line for line in out.stdout.splitlines() if line.startswith("| base"))
    assert "missing" not in row and "error" not in row
    assert (tmp_path / "run" / "eval" / "mteb").is_dir()
