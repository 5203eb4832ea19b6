"""Judge calibration against STS-B dev: sampling, Spearman over the scored pairs (scripted judge)."""

from doubles import ScriptedBackend

from flows.judge_calibration import _spearman, calibrate, sample_pairs
from trainers.sts_data import load_stsb


def test_spearman_skips_missing_scores_and_constant_input():
    assert _spearman([1.0, None, 3.0, 2.0], [0.5, 9.0, 4.0, 1.0]) == (1.0, 3)
    assert _spearman([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == (None, 3)


def test_sample_is_seeded_and_full_set_on_request():
    pairs = load_stsb("dev")
    assert sample_pairs(pairs, 10, 1) == sample_pairs(pairs, 10, 1) and len(sample_pairs(pairs, 10, 1)) == 10
    assert len(sample_pairs(pairs, None, 1)) == len(pairs) == 1500


def test_calibrate_with_a_judge_that_reads_word_overlap():
    def overlap(req):
        s1, s2 = (line.split(": ", 1)[1] for line in req.messages[-1]["content"].split("\n"))
        a, b = set(s1.lower().split()), set(s2.lower().split())
        return str(round(5 * len(a & b) / max(len(a | b), 1)))

    res = calibrate(limit=60, seed=3, encoder=None, llm=ScriptedBackend(overlap, model_id="overlap"))
    assert res.pairs == 60 and res.n_parsed == 60 and res.n_expected == 0  # no log-probabilities: parsed only
    assert res.spearman_parsed > 0.3 and res.spearman_expected is None and res.model == "overlap"
