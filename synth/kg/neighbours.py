"""The embedding-neighbour knowledge graph (GCSE, Lai et al. 2025, pipeline steps 3-4).

GCSE embeds every extracted entity with a frozen sentence encoder and links each to its top-k nearest
entities *of the same type* (FAISS inner product over normalised embeddings). Here the nodes are the same
as the co-occurrence graph's (`synth.kg.graph.add_entity_nodes`), the encoder is passed in as a function
(the pipeline gives it the reference encoder, e.g. the embedded all-MiniLM-L6-v2), and each node gets an
edge to its `k` most similar same-type nodes with `similarity` = cosine (rounded to 1e-4) and `weight` 0.
The graph records how it was built in `g.graph` (kind, encoder, k), which GraphML keeps.

In GCSE these neighbours drive knowledge-*preserving* positives (a phrase replaced by a close neighbour),
while negatives take a random same-type entity (`random_same_type`).
"""

from __future__ import annotations

import random
from typing import Callable, Iterable, Sequence

import networkx as nx
import numpy as np

from synth.kg.extract import Extraction
from synth.kg.facts import norm_entity
from synth.kg.graph import add_entity_nodes

Encode = Callable[[list[str]], np.ndarray]  # texts -> L2-normalised embeddings, one row per text


def build_neighbour_graph(
    extractions: Iterable[Extraction], encode: Encode, k: int = 10, min_similarity: float = -1.0, encoder_name: str = ""
) -> nx.Graph:
    """Entities as nodes; each linked to its top-`k` same-type neighbours by cosine (>= `min_similarity`)."""
    g = nx.Graph(kind="embedding", encoder=encoder_name, neighbours=k)
    add_entity_nodes(g, extractions)
    link_top_k(g, "type", encode, k, min_similarity)
    return g


def link_top_k(g: nx.Graph, group: str, encode: Encode, k: int, min_similarity: float = -1.0) -> None:
    """Link every node to its top-`k` most similar nodes sharing its `group` attribute (cosine of the encoded
    `text`, >= `min_similarity`), the similarity rounded to 1e-4 on the edge."""
    groups: dict[str, list[str]] = {}
    for n, d in sorted(g.nodes(data=True)):
        groups.setdefault(d[group], []).append(n)
    for nodes in groups.values():
        if len(nodes) < 2:
            continue
        emb = np.asarray(encode([g.nodes[n]["text"] for n in nodes]), dtype=np.float32)
        sims = emb @ emb.T
        np.fill_diagonal(sims, -np.inf)
        for i, n in enumerate(nodes):
            for j in np.argsort(-sims[i], kind="stable")[:k]:
                s = float(sims[i, j])
                if s < min_similarity or not np.isfinite(s):
                    continue
                m = nodes[int(j)]
                if not g.has_edge(n, m):
                    g.add_edge(n, m, similarity=round(s, 4), weight=0, relations="")


def nearest_neighbour(
    g: nx.Graph, entity: str, rng: random.Random, exclude: Sequence[str] = (), top: int = 3
) -> tuple[str, float] | None:
    """A close same-type neighbour of `entity` (one of its `top` most similar, drawn with `rng`) for a
    knowledge-preserving positive: (surface text, similarity); None when the node has no neighbour edge."""
    key = norm_entity(entity)
    if key not in g:
        return None
    banned = {norm_entity(x) for x in exclude} | {key}
    cands = [
        (g.edges[key, n]["similarity"], n)
        for n in g.neighbors(key)
        if "similarity" in g.edges[key, n] and n not in banned and not any(b and (b in n or n in b) for b in banned)
    ]
    if not cands:
        return None
    cands.sort(key=lambda x: (-x[0], x[1]))
    sim, n = rng.choice(cands[:top])
    return g.nodes[n]["text"], float(sim)


def random_same_type(
    g: nx.Graph, entity: str, etype: str, rng: random.Random, exclude: Sequence[str] = ()
) -> str | None:
    """A random entity of the same type that is not one of `entity`'s neighbours (GCSE's negative entity
    replacement: random, so that it changes the fact rather than paraphrasing it); None when there is none."""
    key = norm_entity(entity)
    banned = {norm_entity(x) for x in exclude} | {key}
    near = set(g.neighbors(key)) if key in g else set()
    pool = sorted(
        n
        for n, d in g.nodes(data=True)
        if d.get("type") == etype
        and n not in banned
        and n not in near
        and not any(b and (b in n or n in b) for b in banned)
    )
    if not pool:  # a small graph: every same-type node is a neighbour; any other same-type one still differs
        pool = sorted(
            n
            for n, d in g.nodes(data=True)
            if d.get("type") == etype and n not in banned and not any(b and (b in n or n in b) for b in banned)
        )
    return g.nodes[rng.choice(pool)]["text"] if pool else None


def is_neighbour_graph(g: nx.Graph) -> bool:
    return g.graph.get("kind") == "embedding"
