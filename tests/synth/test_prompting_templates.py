"""Prompt templates as data (issue 16): mask_fill's CLAIF prompts and ranked's graded query are files with
declared variables, checked when the recipe is read, and the file's text is what the model is sent."""

from __future__ import annotations

import json

import pytest
from doubles import ScriptedBackend

from synth.backends.base import Sampling
from synth.records import Anchor
from synth.tasks import build_task
from synth.tasks.base import TaskContext

ANCHOR = Anchor("A man is playing a guitar on the street.", "corpus.txt", 1)


def recipe(task: dict) -> None:
    from flows.recipe import recipe_from_dict

    recipe_from_dict({"name": "t", "sampling": {"max_tokens": 8}, "tasks": [task]}, "r.toml")


def pool(tmp_path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(json.dumps([{"id": "mine", "text": text}]), encoding="utf-8")
    return str(p)


@pytest.mark.parametrize(
    "task, key, good, missing, undeclared",
    [
        ("mask_fill", "fill_prompt", 'Fill "{masked}":', "Fill the masks:", 'Fill "{masked}" of {sentense}:'),
        ("mask_fill", "paraphrase_prompt", 'Say "{sentence}" again:', "Say it again:", 'Say "{sentence}" {s}:'),
        (
            "ranked",
            "graded_template",
            "{instruction}\nSentence: {sentence}",
            "{instruction}\nSentence:",
            "{instruction} {level}\nSentence: {sentence}",
        ),
    ],
)
def test_a_template_missing_or_adding_a_variable_is_a_recipe_error_naming_the_file(
    tmp_path, task, key, good, missing, undeclared
):
    from flows.recipe import RecipeError

    recipe({"name": task, key: pool(tmp_path, "good.json", good)})
    with pytest.raises(RecipeError) as e:
        recipe({"name": task, key: pool(tmp_path, "missing.json", missing)})
    assert "missing.json: instruction 'mine' does not use {" in str(e.value)
    with pytest.raises(RecipeError) as e:
        recipe({"name": task, key: pool(tmp_path, "undeclared.json", undeclared)})
    assert "undeclared.json: instruction 'mine' uses {" in str(e.value)


def test_the_template_files_text_is_what_the_model_is_sent(tmp_path):
    from synth.tasks.mask_fill import MaskFillSpec
    from synth.tasks.ranked import RankedSpec

    seen = []
    llm = ScriptedBackend(lambda r: seen.append(r) or "A person plays music outside.")
    ctx = TaskContext(seed=13, sampling=Sampling(max_tokens=8), shard="00000")
    spec = MaskFillSpec(
        rates=[0.0, 0.5],
        paraphrase_prompt=pool(tmp_path, "p.json", "P<{sentence}>"),
        fill_prompt=pool(tmp_path, "f.json", "F<{masked}>"),
    )
    recs = build_task(spec).run([ANCHOR], llm, ctx)
    assert seen[0].messages[-1]["content"] == f"P<{ANCHOR.text}>"
    assert seen[1].messages[-1]["content"] == f"F<{recs[1].raw['masked']}>"
    assert [r.prompt_ids for r in recs] == [["mine"], ["mine"]]
    seen.clear()
    build_task(RankedSpec(k=2, graded_template=pool(tmp_path, "g.json", "G<{instruction}|{sentence}>"))).run(
        [ANCHOR], llm, ctx
    )
    assert seen[0].messages[-1]["content"].startswith("G<Rewrite the sentence") and seen[0].messages[-1][
        "content"
    ].endswith(f"|{ANCHOR.text}>")
