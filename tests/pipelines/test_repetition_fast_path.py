"""The repetition rules' shortcut (no word 2-gram occurs twice: every statistic is 0) decides as the full
computation does, on human sentences, loops, one-word texts and thresholds where 0 itself fails."""

from __future__ import annotations

from pathlib import Path

from pipelines.filters.repetition import duplicated_ngram_fraction, repetition_problem, top_ngram_share, words

ROOT = Path(__file__).resolve().parents[2]


def full(text: str, top: dict[int, float], dup: dict[int, float]) -> str | None:
    ws = words(text)
    for n, limit in sorted(top.items()):
        if top_ngram_share(ws, n) > limit:
            return f"top_{n}gram_share"
    for n, limit in sorted(dup.items()):
        if duplicated_ngram_fraction(ws, n) > limit:
            return f"dup_{n}gram_frac"
    return None


def test_shortcut_decides_as_the_full_computation():
    lines = (ROOT / "pipelines/corpora/snli-premises/snli_premises.txt").read_text(encoding="utf-8").splitlines()
    texts = lines[:2000] + [
        "the White House, the White House, the White House",
        "on the beach on the beach",
        "word",
        "",
        "a a a a a a",
        "one two one two",
    ]
    for top, dup in (({2: 0.6, 3: 0.65, 4: 0.7}, {3: 0.5, 5: 0.5}), ({2: -0.1}, {}), ({1: 0.3}, {3: 0.0})):
        assert [repetition_problem(t, top, dup) for t in texts] == [full(t, top, dup) for t in texts]


def test_ascii_words_and_lazy_shortcuts_decide_as_the_full_computation():
    """ASCII text is split as bytes and each n is skipped once no shorter n-gram repeats: same reasons as
    `full` on both corpora, non-ASCII and mixed-case loops, punctuation and underscores, for any n."""
    corpora = ["snli-premises/snli_premises.txt", "pubmedqa-sentences/pubmedqa_sentences.txt"]
    texts = [ln for c in corpora for ln in (ROOT / "pipelines/corpora" / c).read_text(encoding="utf-8").splitlines()]
    texts = texts[::3] + [
        "Café café CAFÉ, café café",
        "naïve naive naïve naive naïve naive",
        "x_1 x_1 x_1 x_1",
        "A-b a-B A_b a_b",
        "The the THE the.",
        "é",
        "1 2 3 1 2 3 1 2 3",
        "on\tthe\nbeach on the beach",
        "a b a c a d a e",
        "big red dog big red cat big red dog big red cat",
    ]
    configs = (
        ({2: 0.6, 3: 0.65, 4: 0.7}, {3: 0.5, 5: 0.5}),
        ({1: 0.2, 3: 0.1}, {2: 0.1, 6: 0.0}),
        ({4: 0.0}, {3: 0.0}),
        ({}, {1: 0.3}),
        ({3: 0.2, 2: 0.3}, {}),
        ({2: -0.5}, {3: 0.5}),
    )
    for top, dup in configs:
        got = [repetition_problem(t, top, dup) for t in texts]
        assert got == [full(t, top, dup) for t in texts]
        assert any(got)
