"""The run plan: the one place where a run's stages are decided, in order, with what each reads and writes.

`plan_stages` turns the recipe's choices into ordered stages (anchors or scratch anchors -> knowledge graph
[-> extend] -> generation tasks -> annotating tasks -> curate -> train -> evaluate). Tasks declare what they consume
(`TaskSpec.consumes`: anchors, graph, records); nothing is detected. The plan is written to `<run>/plan.json`
atomically before work starts; each stage's output files (content-keyed shard paths) are filled in as soon as
they are known, and every later stage reads its inputs from the plan, never by globbing a directory.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from pipelines.shards import write_text_atomic
from synth.tasks import TaskSpec

PLAN_FILE = "plan.json"
PLAN_VERSION = 1


class PlanError(ValueError):
    """The recipe's stages cannot be planned, or a stage asked for inputs the plan does not have (yet)."""


@dataclass
class StagePlan:
    name: str  # anchors | knowledge_graph | extend | generate:<task> | annotate:<task> | curate | train | evaluate
    kind: str
    inputs: list[str]  # names of the stages whose outputs it reads
    outputs: list[str] = field(default_factory=list)  # files relative to the run dir, once planned
    key: str = ""  # hash of the recipe sections that decide the stage's output


@dataclass
class RunPlan:
    run_dir: Path
    stages: list[StagePlan]
    recipe_hash: str = ""

    def stage(self, name: str) -> StagePlan:
        for s in self.stages:
            if s.name == name:
                return s
        raise PlanError(f"{self.run_dir / PLAN_FILE}: no stage {name!r}; stages: {[s.name for s in self.stages]}")

    def has(self, name: str) -> bool:
        return any(s.name == name for s in self.stages)

    def of_kind(self, *kinds: str) -> list[StagePlan]:
        return [s for s in self.stages if s.kind in kinds]

    def outputs(self, name: str) -> list[Path]:
        return [self.run_dir / p for p in self.stage(name).outputs]

    def resolve(self, name: str, outputs: Sequence[Path | str], key: str = "") -> None:
        """Record a stage's planned output files and save the plan (atomically)."""
        s = self.stage(name)
        s.outputs = [Path(p).resolve().relative_to(self.run_dir.resolve()).as_posix() for p in outputs]
        s.key = key or s.key
        self.write()

    def shard_paths(self) -> list[Path]:
        """The record shards curate reads, in merge order: generation tasks first, annotators after."""
        return [p for s in self.of_kind("generate", "annotate") for p in self.outputs(s.name)]

    def write(self) -> Path:
        data = {
            "contrastive_synth_plan": PLAN_VERSION,
            "recipe_hash": self.recipe_hash,
            "stages": [asdict(s) for s in self.stages],
        }
        return write_text_atomic(json.dumps(data, indent=2), self.run_dir / PLAN_FILE)

    @classmethod
    def read(cls, run_dir: Path) -> "RunPlan":
        path = Path(run_dir) / PLAN_FILE
        if not path.exists():
            raise PlanError(f"{path}: no run plan; run `synth generate` (or `synth run`) with this recipe first")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            stages = [StagePlan(**s) for s in data["stages"]]
        except (ValueError, KeyError, TypeError) as e:
            raise PlanError(f"{path}: unreadable run plan ({e}); rerun `synth generate` to rewrite it") from None
        return cls(Path(run_dir), stages, data.get("recipe_hash", ""))


def plan_stages(
    tasks: Sequence[TaskSpec],
    *,
    scratch: bool,
    knowledge_graph: bool,
    train: bool,
    evaluate: bool,
    extension: bool = False,
) -> list[StagePlan]:
    """The ordered stages of a run from what the recipe asks for and what each task consumes."""
    anchors = StagePlan("anchors", "scratch_anchors" if scratch else "anchors", [])
    stages = [anchors]
    if knowledge_graph or any("graph" in t.consumes for t in tasks):
        stages.append(StagePlan("knowledge_graph", "knowledge_graph", ["anchors"]))
        if extension:  # GCSE extension sentences: new anchors from graph fragments, generated from like the corpus
            stages.append(StagePlan("extend", "extend", ["anchors", "knowledge_graph"]))
    annotators = [t for t in tasks if "records" in t.consumes]
    generators = [t for t in tasks if "records" not in t.consumes]
    for t in generators:
        stages.append(
            StagePlan(
                f"generate:{t.name}",
                "generate",
                [{"anchors": "anchors", "graph": "knowledge_graph"}[c] for c in t.consumes]
                + (["extend"] if any(s.kind == "extend" for s in stages) else []),
            )
        )
    names = [t.name for t in generators]
    for t in annotators:
        wanted = getattr(t, "score_tasks", None)
        if wanted is not None and set(wanted) - set(names):
            raise PlanError(
                f"[[tasks]] {t.name}.score_tasks names {sorted(set(wanted) - set(names))}, which the "
                f"recipe does not generate; generation tasks: {names}"
            )
        scored = list(wanted) if wanted is not None else names
        stages.append(StagePlan(f"annotate:{t.name}", "annotate", ["anchors"] + [f"generate:{n}" for n in scored]))
    stages.append(StagePlan("curate", "curate", [s.name for s in stages if s.kind in ("generate", "annotate")]))
    if train:
        stages.append(StagePlan("train", "train", ["curate"]))
    if evaluate:
        stages.append(StagePlan("evaluate", "evaluate", ["train"] if train else []))
    return stages


def plan_markdown(plan: RunPlan) -> str:
    """The plan as a table for logs and the dataset card."""
    rows = [f"| {s.name} | {', '.join(s.inputs) or '–'} | {len(s.outputs)} |" for s in plan.stages]
    return "| stage | reads | files planned |\n|---|---|---|\n" + "\n".join(rows)


def set_aside_counts(run_dir: Path) -> dict[tuple[str, str], int]:
    """How many shards sit in `.stale/` (an earlier plan's) and `.broken/` (unreadable), per folder."""
    out: dict[tuple[str, str], int] = {}
    for why in ("stale", "broken"):
        for base in (run_dir, run_dir / "generated"):
            root = base / f".{why}"
            for d in sorted(root.iterdir()) if root.is_dir() else []:
                n = sum(1 for p in d.glob("shard-*") if p.is_file())
                if n:
                    out[(why, d.relative_to(run_dir).as_posix())] = n
    return out
