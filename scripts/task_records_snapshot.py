"""Every built-in task's records on a scripted backend, as JSON, for a before/after diff of a refactor (issue 16).

The answers parse, are empty, or echo the prompt; with every 2nd, 3rd or 5th request refused by the backend. It is
evidence that records are unchanged (same ids, texts, parse errors), not that a model writes good data.

    PYTHONPATH=$PWD python scripts/task_records_snapshot.py OUT.json TMPDIR   # on each commit, then diff the JSONs
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from doubles import ScriptedBackend  # noqa: E402

from synth.backends.base import Completion, Request, Sample, Sampling  # noqa: E402
from synth.records import Anchor  # noqa: E402
from synth.tasks import build_task  # noqa: E402
from synth.tasks.base import TaskContext  # noqa: E402
from synth.tasks.judge import JudgeSpec  # noqa: E402
from synth.tasks.kg_variants import KGVariantsSpec  # noqa: E402
from synth.tasks.mask_fill import MaskFillSpec  # noqa: E402
from synth.tasks.pairs import PairsSpec  # noqa: E402
from synth.tasks.ranked import RankedSpec  # noqa: E402
from synth.tasks.scratch import ScratchSpec, write_anchors  # noqa: E402
from tests.synth.test_golden_prompts import ANCHORS, answer, kg_extras, records  # noqa: E402

ANCHORS4 = ANCHORS + [
    Anchor("A woman is slicing 3 tomatoes in Paris.", "c", 3),
    Anchor("Aspirin lowered stroke risk by 12% in 1,200 adults.", "c", 4),
]
SCRIPTS: dict[str, Callable[[Request], str]] = {
    "golden": answer,
    "empty": lambda r: "",
    "echo": lambda r: r.messages[-1]["content"].split("\n")[-1],
}


class Refusing(ScriptedBackend):
    """Every k-th request (counted over the whole run) is refused with a reason, the rest scripted."""

    def __init__(self, script: Callable[[Request], str], k: int):
        super().__init__(script)
        self.k, self.n = k, 0

    def generate(self, requests):
        out = super().generate(requests)
        for i in range(len(out)):
            self.n += 1
            if self.k and self.n % self.k == 0:
                out[i] = Completion([Sample("", "error", error=f"http_400@{self.n}")])
        return out


def cases(llm: Callable[[], Refusing], tmp: Path) -> dict[str, Callable[[], object]]:
    ctx = TaskContext(seed=13, sampling=Sampling(max_tokens=32), shard="00000")
    kctx = dataclasses.replace(ctx, extras=kg_extras(tmp))
    a4 = ANCHORS4
    return {
        "pairs": lambda: build_task(PairsSpec(exemplars=3)).run(a4, llm(), ctx),
        "pairs-n2s2": lambda: build_task(PairsSpec(exemplars=1, candidates=2, samples=2)).run(a4, llm(), ctx),
        "pairs-json": lambda: build_task(PairsSpec(exemplars=2, output="json")).run(a4, llm(), ctx),
        "ranked-graded": lambda: build_task(RankedSpec(k=3, mode="graded")).run(a4, llm(), ctx),
        "ranked-chain": lambda: build_task(RankedSpec(k=3, mode="chain")).run(a4, llm(), ctx),
        "ranked-guided": lambda: build_task(RankedSpec(k=3, mode="guided_chain", on_unsupported_guidance="chain")).run(
            a4, llm(), ctx
        ),
        "judge": lambda: build_task(JudgeSpec(random_pairs=1)).annotate(records(), llm(), ctx),
        "judge-run": lambda: build_task(JudgeSpec(random_pairs=2)).run(a4, llm(), ctx),
        "judge-keep": lambda: build_task(JudgeSpec(random_pairs=1, on_unparsable="keep")).annotate(
            records(), llm(), ctx
        ),
        "mask-fill": lambda: build_task(MaskFillSpec(rates=[0.0, 0.4])).run(a4, llm(), ctx),
        "kg-variants": lambda: build_task(KGVariantsSpec(exemplars=1, samples=2)).run(a4, llm(), kctx),
        "kg-variants-style": lambda: build_task(
            KGVariantsSpec(
                exemplars=1,
                style_rate=0.5,
                rewrite_negatives=False,
                positive_weights={"paraphrase": 0.5, "neighbour_swap": 0.5},
            )
        ).run(a4, llm(), kctx),
        "kg-nograph": lambda: build_task(KGVariantsSpec(exemplars=1, samples=2)).run(a4, llm(), ctx),
        "scratch": lambda: write_anchors(ScratchSpec(anchors=3, max_rounds=3, oversample=1.0), llm(), seed=13),
    }


def snapshot(tmp: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for k in (0, 2, 3, 5):
        for answers, script in SCRIPTS.items():
            for name, run in cases(lambda s=script, k=k: Refusing(s, k), tmp).items():
                res = run()
                if name == "scratch":
                    res = {
                        "anchors": [dataclasses.asdict(a) | {"id": a.id} for a in res[0]],
                        "rejects": [dataclasses.asdict(r) for r in res[1]],
                    }
                else:
                    res = [r.to_dict() for r in res]
                out[f"{name}/{answers}/fail{k}"] = res
    return out


if __name__ == "__main__":
    tmp = Path(sys.argv[2])
    tmp.mkdir(parents=True, exist_ok=True)
    snap = snapshot(tmp)
    Path(sys.argv[1]).write_text(json.dumps(snap, indent=1, sort_keys=True, default=str), encoding="utf-8")
    print(f"{len(snap)} cases written to {sys.argv[1]}")
