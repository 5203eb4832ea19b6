"""Evaluation-set readers on synthetic fixture files in each documented format; absent sets are reported missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainers.evaluate import EvalSpec, evaluate_model, expand_sets, load_set
from trainers.sts_data import EvalDataError, MissingEvalSet, load_sickr, load_sts_year, load_stsb, read_stsb_original


def write(path: Path, text: str, crlf: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", "\r\n" if crlf else "\n").encode("utf-8"))
    return path


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    d = tmp_path / "sts"
    # STS12 SentEval layout, one subset with an unscored pair (blank gold line)
    write(
        d / "STS12-en-test" / "STS.input.MSRpar.txt",
        'A man eats.\tA man is eating.\nA "quoted" cat.\tA dog.\nUnscored one.\tUnscored two.\n',
    )
    write(d / "STS12-en-test" / "STS.gs.MSRpar.txt", "4.8\n0.5\n\n")
    write(d / "STS12-en-test" / "STS.input.MSRvid.txt", "Kids play.\tChildren play.\n")
    write(d / "STS12-en-test" / "STS.gs.MSRvid.txt", "4.2\n")
    # STS16: two extra source-notes columns
    write(
        d / "STS16-en-test" / "STS.input.headlines.txt",
        "Stocks fall.\tMarkets drop.\tsrc1\tsrc2\nRain today.\tSunny weather.\tsrc3\tsrc4\n",
    )
    write(d / "STS16-en-test" / "STS.gs.headlines.txt", "3.9\n0.4\n")
    # STS14 brmson-style pasted file: score<TAB>s1<TAB>s2, empty score = unscored
    write(d / "sts14" / "images.test.tsv", "2.5\tA red car.\tA car.\n\tno score\tskipped\n1.0\tA bird.\tA plane.\n")
    # SICK test file: header, CRLF
    write(
        d / "SICK" / "SICK_test_annotated.txt",
        "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n"
        "6\tA boy runs.\tA kid runs.\t4.5\tENTAILMENT\n7\tA boy runs.\tA cat sleeps.\t1.2\tNEUTRAL\n",
        crlf=True,
    )
    # STS-B original csv: score field 5, sentences 6-7, one row with 2 extra fields
    write(
        d / "stsbenchmark" / "sts-test.csv",
        "main-captions\tMSRvid\t2012test\t0001\t5.000\tA girl is styling her hair.\tA girl is brushing her hair.\n"
        "main-news\theadlines\t2013\t0002\t1.500\tNews one.\tNews two.\textra\tfields\n",
    )
    return d


def test_senteval_year_subsets_pooled(user_dir):
    subsets = load_sts_year("sts12", user_dir)
    assert sorted(subsets) == ["MSRpar", "MSRvid"]
    assert [p.score for p in subsets["MSRpar"]] == [4.8, 0.5]  # the unscored pair is skipped
    assert subsets["MSRpar"][1].s1 == 'A "quoted" cat.'
    pooled = load_set("sts12", str(user_dir))
    assert len(pooled) == 3


def test_sts16_extra_columns_and_brmson_files(user_dir):
    s16 = load_set("sts16", str(user_dir))
    assert (s16[0].s1, s16[0].s2, s16[0].score) == ("Stocks fall.", "Markets drop.", 3.9)
    s14 = load_set("sts14", str(user_dir))
    assert [(p.s1, p.score) for p in s14] == [("A red car.", 2.5), ("A bird.", 1.0)]


def test_sick_crlf_header(user_dir):
    pairs = load_sickr(user_dir)
    assert [(p.s2, p.score) for p in pairs] == [("A kid runs.", 4.5), ("A cat sleeps.", 1.2)]


def test_sick_full_file_selects_test(tmp_path):
    write(
        tmp_path / "SICK.txt",
        "pair_ID\tsentence_A\tsentence_B\tentailment_label\trelatedness_score\tSemEval_set\n"
        "1\ta\tb\tNEUTRAL\t3.0\tTRAIN\n2\tc\td\tNEUTRAL\t4.0\tTEST\n",
    )
    assert [(p.s1, p.score) for p in load_sickr(tmp_path)] == [("c", 4.0)]


def test_stsb_original_and_shipped(user_dir):
    orig = load_set("stsb-test", str(user_dir))
    assert [(p.s2, p.score) for p in orig] == [("A girl is brushing her hair.", 5.0), ("News two.", 1.5)]
    assert len(load_stsb("dev")) == 1500 and len(load_stsb("test")) == 1379  # shipped normalized copies


def test_shared_stsb_original_matches_normalized(shared_data):
    d = shared_data / "stsbenchmark"
    orig, norm = read_stsb_original(d / "sts-test.csv"), load_stsb("test", d)
    assert len(orig) == len(norm) == 1379
    assert [p.score for p in orig] == [p.score for p in norm]


def test_bad_files_name_file_and_line(tmp_path):
    write(tmp_path / "STS13" / "STS.input.FNWN.txt", "a\tb\nc\td\n")
    write(tmp_path / "STS13" / "STS.gs.FNWN.txt", "4.0\nfour\n")
    with pytest.raises(EvalDataError, match=r"STS.gs.FNWN.txt:2"):
        load_set("sts13", str(tmp_path))
    write(tmp_path / "sick" / "SICK_test_annotated.txt", "id\tx\ty\n1\ta\tb\n")
    with pytest.raises(EvalDataError, match="sentence_A"):
        load_sickr(tmp_path)


def test_missing_sets(tmp_path):
    for name in ("sts12", "sts15", "sickr"):
        with pytest.raises(MissingEvalSet):
            load_set(name, str(tmp_path))
    with pytest.raises(MissingEvalSet):
        load_set("sts13", None)


def test_expand_and_validate_sets():
    assert expand_sets(["senteval", "stsb-dev"]) == [
        "sts12",
        "sts13",
        "sts14",
        "sts15",
        "sts16",
        "stsb-test",
        "sickr",
        "stsb-dev",
    ]
    with pytest.raises(ValueError, match="unknown evaluation set"):
        EvalSpec(sets=["sts17"])


class CharEncoder:
    """Deterministic bag-of-characters encoder: enough to check the evaluator's plumbing without a model."""

    def encode(self, texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=None):
        import numpy as np

        out = np.zeros((len(texts), 64))
        for i, t in enumerate(texts):
            for ch in t.lower():
                out[i, ord(ch) % 64] += 1
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_evaluate_reports_missing_not_failing(user_dir, tmp_path):
    res = evaluate_model(CharEncoder(), EvalSpec(sets=["senteval"], data_dir=str(user_dir)))
    assert set(res) == {"sts12", "sts13", "sts14", "sts15", "sts16", "stsb-test", "sickr"}
    assert res["sts13"] is None and res["sts15"] is None  # absent -> missing
    assert all(isinstance(res[s], float) for s in ("sts12", "sts14", "sts16", "stsb-test", "sickr"))
    empty = evaluate_model(CharEncoder(), EvalSpec(sets=["sts12", "sickr"], data_dir=str(tmp_path)))
    assert empty == {"sts12": None, "sickr": None}


def test_mteb_offline_error_is_clear():
    """Without mteb: names the package; with it but offline (HF_HUB_OFFLINE in tests): says it needs internet."""
    from trainers.evaluate import mteb_spearman

    try:
        import mteb  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="optional `mteb` package"):
            mteb_spearman(CharEncoder(), "STS12")
    else:
        with pytest.raises(RuntimeError, match="needs internet"):
            mteb_spearman(CharEncoder(), "STS12")


def test_subsets_spread_over_the_genres_of_the_file():
    """STS-B dev lists its 625 caption pairs first: a subset must not be captions only."""
    from trainers.sts_data import load_stsb, spread

    dev = load_stsb("dev")
    sub = spread(dev, 300)
    assert len(sub) == len(set(sub)) == 300 and sub[0] == dev[0]
    assert sum(dev.index(p) >= 625 for p in sub) == 175  # the non-caption share of the file (875 / 1500)
    assert spread(dev, None) == dev and spread(dev[:5], 10) == dev[:5]
