"""The rules' ASCII path (word and letter counts on bytes, each regex run only when its needed substrings occur)
decides as the plain regex checks do: refusals, meta commentary and non-sentences in any case, non-ASCII text,
lengths at the limits, and every sentence of the shipped corpora."""

from __future__ import annotations

from pathlib import Path

from pipelines.filters.repetition import repetition_problem
from pipelines.filters.rules import (
    _META,
    _NON_SENTENCE,
    _REFUSAL,
    _WORD,
    RulesFilter,
    RulesSpec,
    exemplar_outputs,
    norm,
)

ROOT = Path(__file__).resolve().parents[2]


def plain(spec: RulesSpec, text: str | None, anchor: str) -> str | None:
    """The checks as regexes over str, without the ASCII path."""
    if text is None or not text.strip():
        return "empty"
    words = _WORD.findall(text)
    if len(words) < spec.min_words:
        return "too_short"
    if len(words) > spec.max_words or len(words) > spec.max_length_ratio * max(len(_WORD.findall(anchor)), 4):
        return "too_long"
    if norm(text) == norm(anchor):
        return "copy_of_anchor"
    if spec.reject_exemplar_copies and norm(text) in exemplar_outputs():
        return "copy_of_exemplar"
    if _REFUSAL.search(text):
        return "refusal"
    if _META.search(text):
        return "meta_commentary"
    if _NON_SENTENCE.search(text) or sum(map(str.isalpha, text)) < 0.5 * len(text):
        return "not_a_sentence"
    loop = repetition_problem(text, spec.max_top_ngram_share, spec.max_dup_ngram_frac)
    return f"repetition_{loop}" if loop else None


CRAFTED = [
    "AS AN AI, I cannot do that for you.",
    "I can't help with this request today.",
    "i am unable to comply here.",
    "I won't write that sentence for you.",
    "I WILL NOT answer this one.",
    "I'm sorry but that is all.",
    "Sorry, here is nothing more.",
    "This Language Model says hello to you.",
    "I apologise for the trouble.",
    "We cannot provide any more of it.",
    "I cannot assist with it.",
    "I’m sorry, I can’t do that today.",
    "The original sentence is about dogs.",
    "Sentence 2: a man walks.",
    "A PARAPHRASE of the input follows.",
    "Rewritten: the cat sat down.",
    "Here are three of them now.",
    "Here is the answer to it.",
    "Where is the dog?",
    "In this sentence the dog barks.",
    "The sentence means that a man runs.",
    "Explanation: it is so.",
    "NOTE: this was changed.",
    "See https://example.com for the dog.",
    "Visit www.example.org today, friend.",
    "A {curly} thing is here now.",
    "a <b>bold</b> claim is made.",
    "| cell | in a table |",
    "```code``` is here",
    "12345 67890 11111 22222 a b c",
    "Café au lait for the naïve man.",
    "Ünïcödé wörds ärë hërë tôô.",
    "Δ δ Δ δ are Greek letters here.",
    "The text was revised by the team.",
    "An input of energy is needed.",
    "She typed a long statement on the phone.",
    "The White House, the White House, the White House.",
    "one two",
    "one two three",
    " ".join(["word"] * 81),
    "A man and a woman are walking in the park today.",
]


def test_ascii_path_decides_as_the_plain_regexes():
    corpora = ["snli-premises/snli_premises.txt", "pubmedqa-sentences/pubmedqa_sentences.txt"]
    lines = [ln for c in corpora for ln in (ROOT / "pipelines/corpora" / c).read_text(encoding="utf-8").splitlines()]
    texts = lines[::2] + CRAFTED + [t.upper() for t in CRAFTED] + [None, "", "   "]
    anchors = ["A man walks.", "A man and a woman are walking in the park today.", lines[0], "Ünïcödé ärë hërë."]
    reasons: set[str | None] = set()
    for spec in (RulesSpec(), RulesSpec(min_words=1, max_words=12, max_length_ratio=1.5)):
        f = RulesFilter(spec)
        for anchor in anchors:
            got = [f.check_sentence(t, anchor) for t in texts]
            assert got == [plain(spec, t, anchor) for t in texts]
            reasons.update(got)
    assert {
        "refusal",
        "meta_commentary",
        "not_a_sentence",
        "too_short",
        "too_long",
        "copy_of_anchor",
        "empty",
        "repetition_top_2gram_share",
        None,
    } <= reasons
