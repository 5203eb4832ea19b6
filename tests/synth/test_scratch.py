"""SynCSE-scratch anchors: grid prompts, domain examples, dedup and recorded rejects (scripted backend)."""

from __future__ import annotations

import pytest
from doubles import ScriptedBackend
from pydantic import ValidationError

from synth.tasks.scratch import ScratchSpec, check_candidate, normalise, scratch_request, write_anchors


def test_request_names_genre_and_topics_and_covers_genres_round_robin():
    spec = ScratchSpec(genres=["news report", "recipe book"], topics=["a", "b", "c"], topics_per_prompt=2)
    reqs = [scratch_request(spec, 1, 0, i) for i in range(4)]
    genres = [g for _, g, _ in reqs]
    assert set(genres) == {"news report", "recipe book"} and genres[0] != genres[1]
    req, genre, topics = reqs[0]
    assert req.messages[-1]["content"].startswith(f"Genre: {genre}\nTopics: ") and "etc." in req.messages[-1]["content"]
    assert len(topics.split(", ")) == 2
    assert req.sampling.temperature == 1.0 and req.sampling.max_tokens == 64
    assert scratch_request(spec, 1, 0, 0)[0].messages == req.messages  # seeded


def test_domain_examples_become_demonstrations(tmp_path):
    f = tmp_path / "ex.txt"
    f.write_text("Patients received 5 mg of the drug daily.\n\nThe trial enrolled 120 adults.\n")
    spec = ScratchSpec(topics=["dosage", "trials"], genres=["clinical abstract"], examples_file=str(f), exemplars=2)
    req, _, _ = scratch_request(spec, 3, 0, 0)
    outs = {m["content"] for m in req.messages[2:] if m["role"] == "assistant"}
    assert outs == {"Patients received 5 mg of the drug daily.", "The trial enrolled 120 adults."}


def test_spec_errors_name_the_setting(tmp_path):
    with pytest.raises(ValidationError, match="examples_file"):
        ScratchSpec(examples_file=str(tmp_path / "missing.txt"))
    with pytest.raises(ValidationError, match="topics"):
        ScratchSpec(topics=[])
    with pytest.raises(ValidationError):
        ScratchSpec(unknown=1)


def test_check_candidate():
    spec = ScratchSpec(min_words=4, max_words=10)
    assert check_candidate("A quiet town lies beside the river.", spec, set()) is None
    assert check_candidate("Too short.", spec, set()) == "too_short"
    assert check_candidate(" ".join(["word"] * 11), spec, set()) == "too_long"
    assert check_candidate("I'm sorry, I cannot write that sentence.", spec, set()) == "refusal"
    assert check_candidate("Sure! Here is a sentence about cats.", spec, set()) == "refusal"
    assert (
        check_candidate("A quiet town lies beside the river.", spec, {normalise("a quiet town lies beside the river")})
        == "copy_of_example"
    )
    assert check_candidate(None, spec, set()) == "empty"


def test_write_anchors_dedupes_and_records_every_reject():
    answers = iter(
        [
            "The market opens early on Saturday mornings.",
            "the market opens early on saturday mornings!",
            "Short one.",
            "I'm sorry, I can't do that for you today.",
            "Rain is expected across the north this weekend.",
            "Heavy snow closed two major roads into the city on Tuesday morning.",
            "Fresh bread sells out before noon at the bakery.",
            "A new library opened downtown last month.",
        ]
        + ["Extra sentence number %d is here." % i for i in range(20)]
    )
    llm = ScriptedBackend(lambda r: next(answers))
    anchors, rejects = write_anchors(ScratchSpec(anchors=4, oversample=1.0, max_rounds=3), llm, seed=1)
    texts = [a.text for a in anchors]
    assert texts == [
        "The market opens early on Saturday mornings.",
        "Rain is expected across the north this weekend.",
        "Fresh bread sells out before noon at the bakery.",
        "A new library opened downtown last month.",
    ]
    assert [r.reason for r in rejects] == ["duplicate", "too_short", "refusal", "copy_of_example"]
    assert llm.calls == [4, 3, 1]  # rounds ask only for what is still missing
    assert all(a.source.startswith("scratch:") for a in anchors) and [a.line for a in anchors] == [1, 2, 3, 4]


def test_write_anchors_gives_up_after_max_rounds():
    anchors, rejects = write_anchors(
        ScratchSpec(anchors=3, max_rounds=2, oversample=1.0),
        ScriptedBackend(lambda r: "Same sentence every single time."),
        seed=1,
    )
    assert len(anchors) == 1 and [r.reason for r in rejects] == ["duplicate"] * 4
