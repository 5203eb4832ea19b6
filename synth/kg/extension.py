"""Extension sentences (GCSE, Lai et al. 2025, pipeline steps 5-6): new anchors grown from the knowledge graph.

Two paths, as in GCSE. With probability `main_part_rate` (GCSE: 0.7), a source with at least two main parts
(subject, action, state; `Extraction.main_parts`) keeps them as the fragments, up to `main_part_swaps` of them
first swapped for one of their same-role neighbours in the main-part graph (synth.kg.main_parts; GCSE swaps the
parts for same-class ones from its main-part KG). Otherwise (the entity path) its facts (entities and
quantities) are the fragments, and with probability `swap_rate` up to `max_swaps` entities are first replaced by
random same-type entities of the entity graph. Every word outside a fragment becomes `[]` (now and then a few
extra `[]` are appended), and the LLM rebuilds a new sentence around the fragments (the blank-and-rebuild
prompt, `kg/extension.json`). The result is a new anchor with its provenance (source sentence, path, fragments,
swaps); the pipeline stage (pipelines.kg_extension) re-extracts it and feeds it to generation.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Sequence

import networkx as nx

from synth.backends.base import Request, Sampling
from synth.kg.edits import swap_entity
from synth.kg.extract import Extraction, MainPart
from synth.kg.facts import has_entity
from synth.kg.main_parts import main_part_replacement
from synth.kg.neighbours import random_same_type
from synth.kg.quantities import find_quantity_spans
from synth.parsing import clean_sentence
from synth.prompting import few_shot_chat, load_exemplars, load_instructions, request_seed
from synth.records import Anchor, Entity

BLANK = "[]"


@dataclass
class ExtensionPlan:
    """What one extension request is built from (and, once answered, what it produced)."""

    source_id: str
    source: str
    edited: str  # the source with its swaps applied
    fragments: list[str]
    swaps: list[dict[str, Any]] = field(default_factory=list)  # {"before", "after", "type"[, "similarity"]}
    path: str = "entities"  # or "main_parts"
    blanked: str = ""
    prompt_id: str = ""
    exemplar_ids: list[str] = field(default_factory=list)
    seed: int = 0
    raw: str | None = None
    text: str | None = None  # the new anchor, or None with `reason`
    reason: str | None = None
    fragments_kept: int = 0  # how many fragments the new sentence contains (case-insensitive)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def blank_out(text: str, fragments: Sequence[str], rng: random.Random, extra_rate: float = 0.05) -> str:
    """`text` with every word outside the fragments replaced by `[]` (one per word); runs of words inside a
    fragment stay as written. With probability `extra_rate` one to three more `[]` are appended (GCSE)."""
    keep = [False] * len(text)
    for frag in sorted(fragments, key=len, reverse=True):
        for m in re.finditer(r"(?<!\w)" + re.escape(frag) + r"(?!\w)", text, re.IGNORECASE):
            keep[m.start() : m.end()] = [True] * (m.end() - m.start())
    out = []
    for m in re.finditer(r"\S+", text):
        core = re.search(r"[\w%$]", m.group())
        if core and any(keep[m.start() : m.end()]):
            kept = "".join(c for c, k in zip(m.group(), keep[m.start() : m.end()]) if k)
            out.append(kept)
        else:
            out.append(BLANK)
    if rng.random() < extra_rate:
        out += [BLANK] * rng.randint(1, 3)
    return " ".join(out)


def plan_extension(
    anchor: Anchor,
    ex: Extraction,
    graph: nx.Graph,
    rng: random.Random,
    swap_rate: float = 0.3,
    max_swaps: int = 4,
    main_part_rate: float = 0.0,
    main_graph: nx.Graph | None = None,
    main_part_swaps: int = 1,
) -> ExtensionPlan | None:
    """Fragments (after optional swaps) and the blanked sentence, by the main-part path or the entity path;
    None when the source has neither main parts nor facts."""
    parts = [m for m in ex.main_parts if has_entity(anchor.text, m.text)]
    if main_part_rate > 0 and len(parts) >= 2 and rng.random() < main_part_rate:
        return _main_part_plan(anchor, parts, main_graph, rng, main_part_swaps)
    text, swaps = anchor.text, []
    entities = [e for e in ex.entities if has_entity(anchor.text, e.text)]
    if entities and rng.random() < swap_rate:
        for ent in rng.sample(entities, min(len(entities), rng.randint(1, max_swaps))):
            rep = random_same_type(graph, ent.text, ent.type, rng, exclude=[e.text for e in entities])
            edited = swap_entity(text, ent, rep) if rep else None
            if rep and edited:
                text = edited
                swaps.append({"before": ent.text, "after": rep, "type": ent.type})
    done = {s["before"] for s in swaps}
    frags = [s["after"] for s in swaps] + [e.text for e in entities if e.text not in done]
    frags += [text[s.start : s.end] for s in find_quantity_spans(text)]
    if not frags:
        return None
    return ExtensionPlan(anchor.id, anchor.text, text, frags, swaps, blanked=blank_out(text, frags, rng))


def _main_part_plan(
    anchor: Anchor, parts: list[MainPart], main_graph: nx.Graph | None, rng: random.Random, max_swaps: int
) -> ExtensionPlan:
    """GCSE's main-part path: the parts are the fragments, up to `max_swaps` swapped for a graph neighbour."""
    text, swaps, frags = anchor.text, [], [m.text for m in parts]
    if max_swaps and main_graph is not None:
        for i in sorted(rng.sample(range(len(parts)), min(len(parts), rng.randint(1, max_swaps)))):
            rep = main_part_replacement(main_graph, parts[i], rng)
            edited = swap_entity(text, Entity(parts[i].text, parts[i].role), rep[0]) if rep else None
            if rep and edited:  # swap_entity capitalises a replacement that starts the sentence
                at_start = text.casefold().startswith(parts[i].text.casefold())
                after = rep[0][:1].upper() + rep[0][1:] if at_start else rep[0]
                text, frags[i] = edited, after
                swaps.append({"before": parts[i].text, "after": after, "type": parts[i].role, "similarity": rep[1]})
    return ExtensionPlan(
        anchor.id, anchor.text, text, frags, swaps, blanked=blank_out(text, frags, rng), path="main_parts"
    )


def extension_request(
    plan: ExtensionPlan,
    sampling: Sampling,
    run_seed: int,
    rng: random.Random,
    instructions: str = "kg/extension.json",
    exemplars: str = "kg/extension_exemplars.jsonl",
    shots: int = 2,
    round_: int = 1,
) -> Request:
    inst = rng.choice(load_instructions(instructions))
    chosen = rng.sample(list(load_exemplars(exemplars)), min(shots, len(load_exemplars(exemplars))))
    seed = request_seed(run_seed, "kg-extension", round_, plan.source_id)
    plan.prompt_id, plan.exemplar_ids, plan.seed = inst.id, [e.id for e in chosen], seed
    return Request(
        messages=few_shot_chat(inst.text, chosen, f"Fragments: {plan.blanked}"),
        sampling=replace(sampling, seed=seed),
        meta={"prompt_id": inst.id, "seed": seed},
    )


def finish_extension(
    plan: ExtensionPlan, raw: str, seen: set[str], exemplars: str = "kg/extension_exemplars.jsonl"
) -> ExtensionPlan:
    """Read the LLM's sentence; a copy of the source or of a demonstration, an unparsable answer or a repeat
    gets a reason instead of becoming an anchor."""
    plan.raw = raw
    text, err = clean_sentence(raw)
    key = " ".join((text or "").casefold().split())
    shots = {" ".join(e.output.casefold().split()) for e in load_exemplars(exemplars)}
    plan.fragments_kept = sum(has_entity(text or "", f) for f in plan.fragments)
    if err or not text:
        plan.reason = f"parse:{err or 'empty'}"
    elif BLANK in text:
        plan.reason = "blanks_left"
    elif key == " ".join(plan.source.casefold().split()):
        plan.reason = "copy_of_source"
    elif key in shots:
        plan.reason = "copy_of_exemplar"
    elif key in seen:
        plan.reason = "duplicate"
    else:
        plan.text = text
        seen.add(key)
    return plan
