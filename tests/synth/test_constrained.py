"""Constrained decoding on the embedded transformers backend (issue 15 item 5): choice, regex and JSON schema
enforced while the real SmolLM2-135M generates (llguidance masks), beside an unconstrained request."""

from __future__ import annotations

import json
import re

import pytest

from synth.backends.base import Request, Sampling, Structured, chat_messages
from synth.backends.constrained import grammar
from synth.tasks.pairs import PAIR_SCHEMA

QUESTION = chat_messages(("user", "Is a dog an animal? Answer yes or no."))


@pytest.mark.slow
def test_choice_and_regex_are_enforced_and_unconstrained_rows_are_untouched(smollm):
    s = Sampling(max_tokens=6, temperature=0.7, seed=3)
    choice = Structured(kind="choice", spec=["yes", "no", "maybe"])
    out = smollm.generate(
        [Request(messages=QUESTION, sampling=s, structured=choice)] * 3 + [Request(messages=QUESTION, sampling=s)]
    )
    assert all(c.text in ("yes", "no", "maybe") for c in out[:3]), [c.text for c in out]
    assert out[3].text not in ("yes", "no", "maybe")  # the model's own words when nothing constrains it
    greedy = Sampling(max_tokens=5, temperature=0.0)
    [digits] = smollm.generate(
        [Request(messages=QUESTION, sampling=greedy, structured=Structured(kind="regex", spec=r"[0-9]{3}"))]
    )
    assert re.fullmatch(r"[0-9]{3}", digits.text), digits.text


@pytest.mark.slow
def test_json_schema_is_enforced_compactly(smollm):
    msgs = chat_messages(
        (
            "user",
            'Answer with a JSON object with keys "positive" (a paraphrase) and "negative" '
            "(a contradiction) of: A man is playing a guitar.",
        )
    )
    s = Sampling(max_tokens=80, temperature=0.7, seed=1)
    st = Structured(kind="json", spec=PAIR_SCHEMA)
    out = smollm.generate([Request(messages=msgs, sampling=s, structured=st)] * 2)
    for c in out:
        assert c.samples[0].finish_reason == "stop", c.text
        obj = json.loads(c.text)
        assert set(obj) == {"positive", "negative"} and all(isinstance(v, str) for v in obj.values())
        assert "\n" not in c.text  # no free whitespace, as vLLM's disable_any_whitespace


def test_grammar_kinds():
    assert "yes" in grammar(Structured(kind="choice", spec=["yes", "no"]))
    with pytest.raises(Exception, match="unknown structured output kind"):
        grammar(Structured(kind="xml", spec=""))  # type: ignore[arg-type]
