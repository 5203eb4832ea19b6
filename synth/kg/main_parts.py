"""The main-part graph (GCSE, Lai et al. 2025, pipeline step 4): every sentence's subject, action and state
(`Extraction.main_parts`, from the spaCy extractor's dependency parse) embedded with the frozen reference encoder
and linked to its top-k (GCSE: 5) nearest main parts *of the same group*, the cosine on the edge.

Grouping ("by theme"): GCSE's main-part prompt also asks the LLM for a theme class of the sentence (its
extraction prompt's classes are news / story / medical) and keeps its subject, action and state lists per class.
Here the group is the part's role (subject / action / state): a domain corpus such as the PubMedQA sentences is
one theme class, so GCSE's class x role grouping reduces to the role, and no LLM call is needed for a label the
135M generator does not give reliably. A subject is thus only ever linked to (and swapped for) another subject.

It is a second graph, saved beside the entity graph (`kg/main_parts.graphml`): its nodes are keyed
"<role>:<normalised text>" with `text` (most frequent surface form), `role` (also as `type`, so the entity
graph's summary code reads it) and `freq`; `g.graph` records kind "main_parts", the encoder and k. Keeping it apart
leaves the entity graph, its card section and every entity lookup exactly as they were.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Iterable

import networkx as nx

from synth.kg.extract import Extraction, MainPart
from synth.kg.facts import norm_entity
from synth.kg.neighbours import Encode, link_top_k

ROLES = ("subject", "action", "state")


def part_key(part: MainPart) -> str:
    return f"{part.role}:{norm_entity(part.text)}"


def build_main_part_graph(
    extractions: Iterable[Extraction], encode: Encode, k: int = 5, min_similarity: float = -1.0, encoder_name: str = ""
) -> nx.Graph:
    """Main parts as nodes; each linked to its top-`k` same-role neighbours by cosine (>= `min_similarity`)."""
    g = nx.Graph(kind="main_parts", encoder=encoder_name, neighbours=k)
    surface: dict[str, Counter] = {}
    for ex in extractions:
        for key, part in {part_key(m): m for m in ex.main_parts if norm_entity(m.text)}.items():
            surface.setdefault(key, Counter())[part.text] += 1
            if key not in g:
                g.add_node(key, role=part.role, type=part.role)
    for key, c in surface.items():
        g.nodes[key].update(text=c.most_common(1)[0][0], freq=sum(c.values()))
    link_top_k(g, "role", encode, k, min_similarity)
    return g


def main_part_replacement(g: nx.Graph, part: MainPart, rng: random.Random) -> tuple[str, float] | None:
    """A same-role replacement for `part`: one of its graph neighbours drawn with `rng` (surface text, cosine);
    None when the part has no neighbour in the graph."""
    key = part_key(part)
    if key not in g:
        return None
    cands = sorted(
        (
            n
            for n in g.neighbors(key)
            if g.nodes[n].get("role") == part.role and norm_entity(g.nodes[n]["text"]) != norm_entity(part.text)
        ),
        key=lambda n: (-g.edges[key, n]["similarity"], n),
    )
    if not cands:
        return None
    n = rng.choice(cands)
    return g.nodes[n]["text"], float(g.edges[key, n]["similarity"])


def is_main_part_graph(g: nx.Graph) -> bool:
    return g.graph.get("kind") == "main_parts"
