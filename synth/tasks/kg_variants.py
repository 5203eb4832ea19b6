"""Knowledge-graph guided variants (GCSE, Lai et al. 2025): per anchor, a positive that keeps every extracted
entity and quantity (the prompt lists them) and a hard negative that changes exactly one fact.

Negative kinds: `entity_swap` (one entity replaced by a same-type graph neighbour, else any same-type
entity), `quantity_change` (one number changed) and `refute` (the statement negated). Swaps and quantity
changes are applied in code (synth.kg.edits), so the target is known; the LLM only rewrites the edited
sentence fluently, and when its rewrite loses a fact the edited sentence itself is the negative.
The graph and the per-anchor extractions come from the knowledge-graph stage via `ctx.extras`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar, Literal, Sequence

import networkx as nx
from pydantic import Field, field_validator

from synth.backends.base import Completion, Request
from synth.kg.edits import change_quantity, swap_entity
from synth.kg.extract import Extraction
from synth.kg.facts import diff_facts
from synth.kg.graph import build_graph, load_graph, same_type_replacement
from synth.kg.neighbours import is_neighbour_graph, nearest_neighbour, random_same_type
from synth.kg.quantities import find_quantities, find_quantity_spans
from synth.parsing import clean_sentence
from synth.prompting import few_shot_chat, load_exemplars, load_instructions, request_seed, sample_prompt
from synth.records import Anchor, ChangedFact, Entity, Record
from synth.tasks.base import TaskContext, TaskSpec
from synth.tasks.single_round import Prompted, SingleRoundTask, backend_error

NEGATIVE_KINDS = ("entity_swap", "quantity_change", "refute")
POSITIVE_KINDS = ("paraphrase", "neighbour_swap")  # neighbour_swap: GCSE's close-neighbour replacement
HOPS = {"neighbour": 1, "two_hop": 2, "same_type": 0}  # check `kg_replacement_hops`: where the swap came from


class KGVariantsSpec(TaskSpec):
    name: Literal["kg_variants"] = "kg_variants"
    consumes: ClassVar[tuple[str, ...]] = ("anchors", "graph")
    exemplars: int = Field(2, ge=0, le=6, description="few-shot demonstrations per call")
    samples: int = Field(1, ge=1, le=4, description="records per anchor")
    negative_weights: dict[str, float] = Field(
        default_factory=lambda: {"entity_swap": 0.35, "quantity_change": 0.35, "refute": 0.3},
        description="relative frequency of each hard-negative kind among those an anchor allows",
    )
    positive_weights: dict[str, float] = Field(
        default_factory=lambda: {"paraphrase": 1.0, "neighbour_swap": 0.0},
        description="positive kinds: paraphrase keeping every fact, or one entity replaced by a close embedding-"
        "graph neighbour and rewritten (GCSE: 0.7 / 0.3; needs [knowledge_graph] graph = 'embedding')",
    )
    rewrite_negatives: bool = Field(True, description="let the LLM rewrite an edited sentence fluently")
    fallback_to_edit: bool = Field(True, description="use the edited sentence when the rewrite lost a fact")
    style_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="share of paraphrase / refutation requests given a style "
        "drawn from the style pools (GCSE: every one; its 0.7 is the kinds' mix)",
    )
    positive_styles: str = "kg/positive_styles.json"
    negative_styles: str = "kg/negative_styles.json"
    positive_instructions: str = "kg/positive.json"
    positive_exemplars: str = "kg/positive_exemplars.jsonl"
    refute_instructions: str = "kg/refute.json"
    refute_exemplars: str = "kg/refute_exemplars.jsonl"

    @field_validator("negative_weights", "positive_weights")
    @classmethod
    def _known_kinds(cls, v: dict[str, float], info) -> dict[str, float]:
        known = NEGATIVE_KINDS if info.field_name == "negative_weights" else POSITIVE_KINDS
        bad = sorted(set(v) - set(known))
        if bad:
            raise ValueError(f"unknown {info.field_name.split('_')[0]} kinds {bad}; allowed: {list(known)}")
        if any(w < 0 for w in v.values()) or not any(w > 0 for w in v.values()):
            raise ValueError("weights must be >= 0 with at least one > 0")
        return v


@lru_cache(maxsize=4)
def load_extractions(path: str) -> dict[str, Extraction]:
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["anchor_id"]: Extraction.from_dict(r) for r in rows}


@lru_cache(maxsize=4)
def _cached_graph(path: str, key: str) -> nx.Graph:
    return load_graph(path)


def facts_query(text: str, entities: Sequence[Entity], quantities) -> str:
    facts = [e.text for e in entities] + [q.text for q in quantities]
    return f"Sentence: {text}" + (f"\nKeep exactly: {'; '.join(facts)}" if facts else "")


@dataclass(frozen=True)
class VariantPlan:
    """One record, planned before asking: the anchor's extraction, the hard negative's kind and code edit (with
    the graph hops of a swap's replacement), the positive's neighbour-swap plan, and whether a negative is asked."""

    anchor: Anchor
    ex: Extraction
    sample: int
    kind: str
    edited: str | None
    changed: ChangedFact | None
    hops: float
    pos_plan: tuple
    asks_negative: bool


@dataclass(frozen=True)
class VariantContext:
    """One request: the record's plan, and the provenance this request adds (prompt, exemplars, seed, style)."""

    plan: VariantPlan
    prompt_id: str
    exemplar_ids: tuple[str, ...]
    seed: int
    style_id: str | None


class KGVariantsTask(SingleRoundTask[KGVariantsSpec, VariantContext]):
    """One round: a positive request per record, then its negative request where the plan asks one (a refutation,
    or an LLM rewrite of the code edit); `records` reads each record from its one or two answers."""

    name: ClassVar[str] = "kg_variants"

    def _context(self, anchors: Sequence[Anchor], ctx: TaskContext) -> tuple[dict[str, Extraction], nx.Graph]:
        path = ctx.extras.get("extractions_path")
        known = load_extractions(str(path)) if path else {}
        exs = {
            a.id: known.get(a.id)
            or Extraction(a.id, a.text, [a.text], [], find_quantities(a.text), error="not_extracted")
            for a in anchors
        }
        if ctx.extras.get("graph_path"):
            graph = _cached_graph(str(ctx.extras["graph_path"]), str(ctx.extras.get("graph_key", "")))
        else:  # no graph stage ran: a graph over this shard still gives same-type replacements
            graph = build_graph(exs.values())
        return exs, graph

    def _plan_negative(
        self, anchor: Anchor, ex: Extraction, graph: nx.Graph, rng
    ) -> tuple[str, str | None, ChangedFact | None, float]:
        """(kind, edited text or None, changed fact, graph hops of the swap's replacement: 1, 2 or 0)."""
        weights = {k: self.spec.negative_weights.get(k, 0.0) for k in NEGATIVE_KINDS}
        while any(w > 0 for w in weights.values()):
            kind = rng.choices(list(weights), weights=list(weights.values()))[0]
            if kind == "entity_swap":
                for ent in rng.sample(ex.entities, len(ex.entities)):
                    rep = self._negative_replacement(graph, ent, ex, rng)
                    edited = swap_entity(anchor.text, ent, rep[0]) if rep else None
                    if rep and edited:
                        return kind, edited, ChangedFact(kind, ent.text, rep[0]), float(HOPS[rep[1]])
            elif kind == "quantity_change":
                for span in rng.sample(find_quantity_spans(anchor.text), len(find_quantity_spans(anchor.text))):
                    res = change_quantity(anchor.text, span, rng)
                    if res:
                        return kind, res[0], res[1], 0.0
            else:
                return kind, None, ChangedFact("refute", anchor.text, ""), 0.0
            weights[kind] = 0.0  # this anchor does not allow that kind: choose among the others
        return "refute", None, ChangedFact("refute", anchor.text, ""), 0.0

    @staticmethod
    def _negative_replacement(graph: nx.Graph, ent: Entity, ex: Extraction, rng) -> tuple[str, str] | None:
        """Co-occurrence graph: a neighbour (then two-hop, then any same type); embedding-neighbour graph: a
        random same-type entity that is not a close neighbour, as GCSE does (a neighbour would paraphrase)."""
        exclude = [e.text for e in ex.entities]
        if is_neighbour_graph(graph):
            text = random_same_type(graph, ent.text, ent.type, rng, exclude=exclude)
            return (text, "same_type") if text else None
        return same_type_replacement(graph, ent.text, ent.type, rng, exclude=exclude)

    def _plan_positive(
        self, anchor: Anchor, ex: Extraction, graph: nx.Graph, rng
    ) -> tuple[str | None, ChangedFact | None, float]:
        """(edited text, swap, similarity) for a neighbour-swap positive; (None, None, 0) for a paraphrase."""
        w = {k: self.spec.positive_weights.get(k, 0.0) for k in POSITIVE_KINDS}
        if not w["neighbour_swap"] or rng.random() >= w["neighbour_swap"] / sum(w.values()):
            return None, None, 0.0
        for ent in rng.sample(ex.entities, len(ex.entities)):
            near = nearest_neighbour(graph, ent.text, rng, exclude=[e.text for e in ex.entities])
            edited = swap_entity(anchor.text, ent, near[0]) if near else None
            if near and edited:
                return edited, ChangedFact("neighbour_swap", ent.text, near[0]), near[1]
        return None, None, 0.0  # no entity with a neighbour: a paraphrase

    def _request(
        self,
        plan: VariantPlan,
        role: str,
        query: str,
        ctx: TaskContext,
        inst_path: str,
        shots_path: str,
        styles_path: str | None = None,
    ) -> Prompted[VariantContext]:
        anchor, sample = plan.anchor, plan.sample
        rng = ctx.rng(self.name, anchor.id, role, sample)
        inst, chosen = sample_prompt(load_instructions(inst_path), load_exemplars(shots_path), self.spec.exemplars, rng)
        seed = request_seed(ctx.seed, self.name, anchor.id, role, sample)
        style = self._draw_style(styles_path, ctx.rng(self.name, anchor.id, role, sample, "style"))
        text = f"{inst.text} {style.text}" if style else inst.text
        request = Request(messages=few_shot_chat(text, chosen, query), sampling=ctx.sampling_for(self.spec, seed=seed))
        return Prompted(
            request, VariantContext(plan, inst.id, tuple(e.id for e in chosen), seed, style.id if style else None)
        )

    def _draw_style(self, styles_path: str | None, rng):
        """A style from the pool for `style_rate` of the requests (GCSE's styled rewrites and refutations)."""
        if not styles_path or not self.spec.style_rate or rng.random() >= self.spec.style_rate:
            return None
        return rng.choice(load_instructions(styles_path))

    def requests(self, anchors: Sequence[Anchor], ctx: TaskContext) -> list[Prompted[VariantContext]]:
        s = self.spec
        exs, graph = self._context(anchors, ctx)
        out: list[Prompted[VariantContext]] = []
        for a in anchors:
            ex = exs[a.id]
            for k in range(s.samples):
                kind, edited, changed, hops = self._plan_negative(a, ex, graph, ctx.rng(self.name, a.id, "neg", k))
                pos_plan = self._plan_positive(a, ex, graph, ctx.rng(self.name, a.id, "pos", k))
                plan = VariantPlan(
                    a,
                    ex,
                    k,
                    kind,
                    edited,
                    changed,
                    hops,
                    pos_plan,
                    asks_negative=kind == "refute" or s.rewrite_negatives,
                )
                pos_query = (
                    facts_query(a.text, ex.entities, ex.quantities)
                    if pos_plan[0] is None
                    else facts_query(pos_plan[0], self._edited_entities(ex, pos_plan[1]), find_quantities(pos_plan[0]))
                )
                out.append(
                    self._request(
                        plan,
                        "positive",
                        pos_query,
                        ctx,
                        s.positive_instructions,
                        s.positive_exemplars,
                        s.positive_styles if pos_plan[0] is None else None,
                    )
                )
                if kind == "refute":
                    out.append(
                        self._request(
                            plan,
                            "negative",
                            facts_query(a.text, ex.entities, ex.quantities),
                            ctx,
                            s.refute_instructions,
                            s.refute_exemplars,
                            s.negative_styles,
                        )
                    )
                elif s.rewrite_negatives:
                    out.append(
                        self._request(
                            plan,
                            "negative",
                            facts_query(edited, self._edited_entities(ex, changed), find_quantities(edited)),
                            ctx,
                            s.positive_instructions,
                            s.positive_exemplars,
                        )
                    )
        return out

    def records(self, prompted: list[Prompted[VariantContext]], completions: list[Completion]) -> list[Record]:
        answers = iter(zip(prompted, completions))
        out = []
        for pos, pos_comp in answers:
            neg, neg_comp = next(answers) if pos.context.plan.asks_negative else (None, None)
            out.append(self._record(pos.context, neg.context if neg else None, pos_comp, neg_comp))
        return out

    @staticmethod
    def _edited_entities(ex: Extraction, changed: ChangedFact) -> list[Entity]:
        if changed.kind not in ("entity_swap", "neighbour_swap"):
            return list(ex.entities)
        return [Entity(changed.after, e.type) if e.text == changed.before else e for e in ex.entities]

    def _record(
        self, pos_ctx: VariantContext, neg_ctx: VariantContext | None, pos_comp: Completion, neg_comp: Completion | None
    ) -> Record:
        p = pos_ctx.plan
        a, ex, k, kind, edited, changed, hops, pos_plan = (
            p.anchor,
            p.ex,
            p.sample,
            p.kind,
            p.edited,
            p.changed,
            p.hops,
            p.pos_plan,
        )
        pos_raw, neg_raw = pos_comp.text, (neg_comp.text if neg_comp else None)
        pos, pos_err = clean_sentence(pos_raw)
        checks: dict[str, float] = {}
        raw = {"positive": pos_raw}
        pos_edited, swap, sim = pos_plan
        if swap is not None:  # a neighbour-swap positive: kept facts are the anchor's with the neighbour in
            raw.update(positive_edited=pos_edited, positive_swap_before=swap.before, positive_swap_after=swap.after)
            checks["kg_positive_neighbour_sim"] = sim
            if (
                pos is None
                or not diff_facts(self._edited_entities(ex, swap), find_quantities(pos_edited), pos).kept_all
            ):
                if self.spec.fallback_to_edit:
                    pos, pos_err = pos_edited, None
                    checks["kg_positive_from_edit"] = 1.0
        neg, neg_err = clean_sentence(neg_raw) if neg_ctx else (edited, None)
        backend_err = backend_error(pos_comp, neg_comp)  # a request the backend could not serve
        if kind == "refute":
            changed = ChangedFact("refute", a.text, neg or "")
        else:
            if kind == "entity_swap":
                checks["kg_replacement_hops"] = hops
            rewrite_ok = (
                neg is not None
                and neg_ctx is not None
                and diff_facts(self._edited_entities(ex, changed), find_quantities(edited), neg).kept_all
            )
            if neg_ctx is not None and not rewrite_ok and self.spec.fallback_to_edit:
                neg, neg_err = edited, None
                checks["kg_negative_from_edit"] = 1.0
            elif neg_ctx is None:
                checks["kg_negative_from_edit"] = 1.0
        err = backend_err or (f"positive_{pos_err}" if pos_err else (f"negative_{neg_err}" if neg_err else None))
        if ex.error:
            checks["kg_extraction_failed"] = 1.0
        if neg_raw is not None:
            raw["negative"] = neg_raw
        if edited is not None:
            raw["edited"] = edited
        return Record(
            task=self.name,
            anchor_id=a.id,
            anchor=a.text,
            positive=pos,
            negative=neg,
            negative_kind=kind,
            entities=list(ex.entities),
            quantities=list(ex.quantities),
            changed_fact=changed,
            checks=checks,
            prompt_ids=[pos_ctx.prompt_id, neg_ctx.prompt_id if neg_ctx else f"edit:{kind}"]
            + [c.style_id for c in (pos_ctx, neg_ctx) if c is not None and c.style_id],
            exemplar_ids=list(pos_ctx.exemplar_ids + (neg_ctx.exemplar_ids if neg_ctx else ())),
            seed=pos_ctx.seed,
            sample_index=k,
            raw=raw,
            parse_error=err,
        )
