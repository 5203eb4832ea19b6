"""Golden prompts (issue 16 item 3): the exact requests each task sends for a fixed seed, pinned in
tests/golden/<case>.json. A refactor of prompts, exemplar sampling or request building that changes what a model
is asked fails here, with a diff of the first changed request. After an intended change, regenerate with
`CSYNTH_UPDATE_GOLDEN=1 pytest tests/synth/test_golden_prompts.py` and review the JSON diff in the commit.

The backend is a scripted double: it only records the requests and answers with plausible text, so later rounds
(chains, best-of-n) are reached; it is evidence of what is sent, not of what a model makes of it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Callable

import pytest
from doubles import ScriptedBackend

from synth.backends.base import Request, Sampling
from synth.records import Anchor, Record
from synth.tasks import build_task
from synth.tasks.base import TaskContext

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
ANCHORS = [
    Anchor("A man is playing a guitar on the street.", "corpus.txt", 1),
    Anchor("Two children are reading a book in the park.", "corpus.txt", 2),
]


def request_json(r: Request) -> dict[str, Any]:
    return {
        "messages": [dict(m) for m in r.messages],
        "sampling": dataclasses.asdict(r.sampling),
        "structured": dataclasses.asdict(r.structured) if r.structured else None,
        "guidance": dataclasses.asdict(r.guidance) if r.guidance else None,
    }


def answer(r: Request) -> str:
    """Plausible answers per prompt shape, so every round of a task is reached."""
    if r.structured and r.structured.kind == "json":
        return json.dumps({k: "A person does something outside." for k in r.structured.spec.get("properties", {})})
    if r.structured and r.structured.kind == "choice":
        return str(r.structured.spec[0])
    text = r.messages[-1]["content"]
    if "1." in text or "list" in text.lower():
        return "1. A man plays music.\n2. A person holds a guitar.\n3. Someone is outside."
    return "Positive: A man plays music outdoors.\nNegative: A woman sleeps at home."


def records() -> list[Record]:
    return [
        Record(
            task="pairs",
            anchor_id=a.id,
            anchor=a.text,
            positive="A person is outside.",
            negative="Nobody is there.",
            prompt_ids=["p"],
            seed=1,
        )
        for a in ANCHORS
    ]


def kg_extras(tmp_path: Path) -> dict[str, str]:
    from tests.synth.test_kg_variants_task import extractions  # the same two extractions and graph

    return extractions(tmp_path)


def run_case(name: str, tmp_path: Path) -> list[Request]:
    from synth.tasks.judge import JudgeSpec
    from synth.tasks.kg_variants import KGVariantsSpec
    from synth.tasks.mask_fill import MaskFillSpec
    from synth.tasks.pairs import PairsSpec
    from synth.tasks.ranked import RankedSpec
    from synth.tasks.scratch import ScratchSpec, write_anchors

    seen: list[Request] = []
    llm = ScriptedBackend(lambda r: seen.append(r) or answer(r))
    ctx = TaskContext(seed=13, sampling=Sampling(max_tokens=32), shard="00000")
    cases: dict[str, Callable[[], object]] = {
        "pairs": lambda: build_task(PairsSpec(exemplars=3)).run(ANCHORS, llm, ctx),
        "pairs-json": lambda: build_task(PairsSpec(exemplars=2, output="json")).run(ANCHORS, llm, ctx),
        "ranked-graded": lambda: build_task(RankedSpec(k=3, mode="graded")).run(ANCHORS, llm, ctx),
        "ranked-chain": lambda: build_task(RankedSpec(k=3, mode="chain")).run(ANCHORS[:1], llm, ctx),
        "judge": lambda: build_task(JudgeSpec(random_pairs=1)).annotate(records(), llm, ctx),
        "mask-fill": lambda: build_task(MaskFillSpec(rates=[0.0, 0.4])).run(ANCHORS, llm, ctx),
        "kg-variants": lambda: build_task(KGVariantsSpec(exemplars=1)).run(
            [Anchor("Aspirin lowered stroke risk by 12% in 1,200 adults.")],
            llm,
            dataclasses.replace(ctx, extras=kg_extras(tmp_path)),
        ),
        "scratch": lambda: write_anchors(ScratchSpec(anchors=2, max_rounds=1, oversample=1.0), llm, seed=13),
    }
    cases[name]()
    return seen


CASES = ["pairs", "pairs-json", "ranked-graded", "ranked-chain", "judge", "mask-fill", "kg-variants", "scratch"]


@pytest.mark.parametrize("name", CASES)
def test_the_exact_requests_each_task_sends(name, tmp_path):
    got = json.loads(json.dumps([request_json(r) for r in run_case(name, tmp_path)]))  # tuples as lists
    path = GOLDEN / f"{name}.json"
    if os.environ.get("CSYNTH_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    want = json.loads(path.read_text(encoding="utf-8"))
    assert len(got) == len(want), f"{name}: {len(got)} requests sent, {len(want)} pinned"
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"{name}: request {i} differs from {path.name}"


def test_an_instruction_variable_the_task_does_not_fill_is_a_recipe_error(tmp_path):
    """A typo in a user's prompt file stops the recipe, naming the file, the instruction and the variable,
    instead of sending `{sentense}` to the model literally."""
    from flows.recipe import RecipeError, recipe_from_dict

    pool = tmp_path / "chain.json"
    pool.write_text(json.dumps([{"id": "mine", "text": "Rewrite this: {sentense}"}]), encoding="utf-8")
    with pytest.raises(RecipeError) as e:
        recipe_from_dict(
            {
                "name": "t",
                "sampling": {"max_tokens": 8},
                "tasks": [{"name": "ranked", "mode": "chain", "chain_instruction": str(pool)}],
            },
            "r.toml",
        )
    assert "tasks" in str(e.value) and "'mine' uses {sentense}" in str(e.value) and "{sentence}" in str(e.value)
    pool.write_text(json.dumps([{"id": "mine", "text": "Rewrite this: {sentence}"}]), encoding="utf-8")
    recipe_from_dict(
        {
            "name": "t",
            "sampling": {"max_tokens": 8},
            "tasks": [{"name": "ranked", "mode": "chain", "chain_instruction": str(pool)}],
        },
        "r.toml",
    )
