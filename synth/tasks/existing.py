"""Records from existing pairs: no generation, the rows of a labelled/paired corpus as they are.

The corpus reader (`[corpus] kind = "nli" | "simcse" | "columns"`, pipelines/paired_corpus.py) puts each
anchor's rows in `Anchor.given`; this task turns each row into a `Record` (positive, hard negative, or a
pair in `text_b` with its score) so that the judge can score it (CLHAIF's soft labels) and the filters can
refine it (MultiCSR's thresholds), like any generated record. Provenance: `prompt_ids` holds
`given:<corpus path>:<line>` for every source line the record came from.
"""

from __future__ import annotations

import json
from typing import ClassVar, Literal, Sequence

from pydantic import Field

from synth.backends.base import Backend
from synth.records import Anchor, Record
from synth.tasks.base import TaskContext, TaskSpec


class ExistingSpec(TaskSpec):
    uses_llm: ClassVar[bool] = False
    name: Literal["existing"] = "existing"
    max_tokens: int | None = Field(None, ge=1, description="unused: nothing is generated")
    negative_kind: str = Field("given", description="negative_kind of the rows' hard negatives (e.g. nli)")


class ExistingTask:
    name: ClassVar[str] = "existing"

    def __init__(self, spec: ExistingSpec):
        self.spec = spec

    def run(self, anchors: Sequence[Anchor], llm: Backend | None, ctx: TaskContext) -> list[Record]:
        """One record per given row; an anchor without rows (a plain-text corpus) is a recorded rejection."""
        out: list[Record] = []
        for a in anchors:
            if not a.given:
                out.append(
                    Record(
                        task=self.name,
                        anchor_id=a.id,
                        anchor=a.text,
                        parse_error="existing_no_rows",
                        prompt_ids=[f"given:{a.source}:{a.line}"],
                    )
                )
                continue
            for k, row in enumerate(json.loads(a.given)):
                score = row.get("score")
                out.append(
                    Record(
                        task=self.name,
                        anchor_id=a.id,
                        anchor=a.text,
                        positive=row.get("positive"),
                        negative=row.get("negative"),
                        negative_kind=self.spec.negative_kind if row.get("negative") else None,
                        text_b=row.get("text_b"),
                        pair_score=float(score) if score is not None else None,
                        prompt_ids=[f"given:{a.source}:{line}" for line in row.get("lines", [a.line])],
                        seed=ctx.seed,
                        sample_index=k,
                        raw={"label": row["label"]} if "label" in row else {},
                    )
                )
        return out
