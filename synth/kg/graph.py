"""The knowledge graph (networkx): entities as nodes, co-occurrence and named relations as edges.

Nodes are keyed by the normalised entity text and carry `text` (most frequent surface form), `type`
(most frequent type) and `freq` (anchors mentioning it). Edges link entities of the same sentence with
`weight` = number of such sentences, and `relations` = "; "-joined relation names from the LLM extractor.
Saved as GraphML (a standard format any graph tool reads).
"""

from __future__ import annotations

import random
from collections import Counter
from itertools import combinations
from pathlib import Path
from typing import Iterable, Sequence

import networkx as nx

from synth.kg.extract import Extraction
from synth.kg.facts import has_entity, norm_entity


def add_entity_nodes(g: nx.Graph, extractions: Iterable[Extraction]) -> None:
    """One node per normalised entity with its most frequent surface form and type, and its frequency."""
    surface: dict[str, Counter] = {}
    types: dict[str, Counter] = {}
    for ex in extractions:
        for k, text, etype in _keyed(ex):
            surface.setdefault(k, Counter())[text] += 1
            types.setdefault(k, Counter())[etype] += 1
    for k in surface:
        if k not in g:
            g.add_node(k)
        g.nodes[k].update(
            text=surface[k].most_common(1)[0][0], type=types[k].most_common(1)[0][0], freq=sum(surface[k].values())
        )


def _keyed(ex: Extraction) -> list[tuple[str, str, str]]:
    seen, out = set(), []
    for e in ex.entities:
        k = norm_entity(e.text)
        if k and k not in seen:
            seen.add(k)
            out.append((k, e.text, e.type))
    return out


def build_graph(extractions: Iterable[Extraction]) -> nx.Graph:
    extractions = list(extractions)
    g = nx.Graph()
    add_entity_nodes(g, extractions)
    surface = set(g.nodes)
    for ex in extractions:
        keys = [k for k, _, _ in _keyed(ex)]
        sentences = ex.sentences or [ex.text]
        for sent in sentences:
            inside = [k for k, e in zip(keys, _first_per_key(ex)) if has_entity(sent, e)]
            for a, b in combinations(sorted(inside), 2):
                if g.has_edge(a, b):
                    g.edges[a, b]["weight"] += 1
                else:
                    g.add_edge(a, b, weight=1, relations="")
        for r in ex.relations:
            a, b = norm_entity(r.head), norm_entity(r.tail)
            if a in surface and b in surface and a != b:
                if not g.has_edge(a, b):
                    g.add_edge(a, b, weight=0, relations="")
                names = [x for x in g.edges[a, b]["relations"].split("; ") if x]
                if r.relation not in names:
                    g.edges[a, b]["relations"] = "; ".join(names + [r.relation])
    return g


def _first_per_key(ex: Extraction) -> list[str]:
    seen, out = set(), []
    for e in ex.entities:
        k = norm_entity(e.text)
        if k and k not in seen:
            seen.add(k)
            out.append(e.text)
    return out


def save_graph(g: nx.Graph, path: Path) -> Path:
    """GraphML, written to a temp file and renamed so a reader never sees half a graph."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    nx.write_graphml(g, tmp)
    tmp.replace(path)
    return path


def load_graph(path: Path | str) -> nx.Graph:
    g = nx.read_graphml(path)
    for _, d in g.nodes(data=True):
        d["freq"] = int(d.get("freq", 0))
    for _, _, d in g.edges(data=True):
        d["weight"] = int(d.get("weight", 0))
        d.setdefault("relations", "")
        if "similarity" in d:  # an embedding-neighbour edge (synth.kg.neighbours)
            d["similarity"] = float(d["similarity"])
    return g


def same_type_replacement(
    g: nx.Graph, entity: str, etype: str, rng: random.Random, exclude: Sequence[str] = ()
) -> tuple[str, str] | None:
    """A different entity of the same type: a graph neighbour when there is one (heavier edges first, ties
    broken by `rng`), else a two-hop neighbour (sharing the most context entities), else any same-type node.
    Returns (surface text, "neighbour" | "two_hop" | "same_type")."""
    key = norm_entity(entity)
    banned = {norm_entity(x) for x in exclude} | {key}

    def ok(n: str) -> bool:
        d = g.nodes[n]
        return (
            d.get("type") == etype
            and n not in banned
            and key not in n
            and n not in key
            and not any(b and (b in n or n in b) for b in banned)
        )

    if key in g:
        nbrs = [n for n in g.neighbors(key) if ok(n)]
        if nbrs:
            rng.shuffle(nbrs)
            nbrs.sort(key=lambda n: -g.edges[key, n]["weight"])
            top = [n for n in nbrs if g.edges[key, n]["weight"] == g.edges[key, nbrs[0]]["weight"]]
            return g.nodes[rng.choice(top)]["text"], "neighbour"
        shared: dict[str, int] = {}
        for mid in g.neighbors(key):
            for n in g.neighbors(mid):
                if ok(n):
                    shared[n] = shared.get(n, 0) + 1
        if shared:
            best = max(shared.values())
            return g.nodes[rng.choice(sorted(n for n, c in shared.items() if c == best))]["text"], "two_hop"
    pool = sorted(n for n in g.nodes if ok(n))
    if not pool:
        return None
    return g.nodes[rng.choice(pool)]["text"], "same_type"


def summary(g: nx.Graph, top: int = 5) -> dict:
    by_type: dict[str, list[tuple[str, int]]] = {}
    for _, d in g.nodes(data=True):
        by_type.setdefault(d.get("type", "?"), []).append((d.get("text", ""), int(d.get("freq", 0))))
    return {
        "nodes": g.number_of_nodes(),
        "edges": g.number_of_edges(),
        "relation_edges": sum(1 for *_, d in g.edges(data=True) if d.get("relations")),
        "types": {t: len(v) for t, v in sorted(by_type.items(), key=lambda kv: -len(kv[1]))},
        "top_by_type": {t: sorted(v, key=lambda x: (-x[1], x[0]))[:top] for t, v in by_type.items()},
    }


def summary_markdown(s: dict) -> str:
    lines = [
        "## Knowledge graph",
        "",
        f"{s['nodes']} entities (nodes), {s['edges']} edges (same-sentence co-occurrence, weighted"
        f"{'; ' + str(s['relation_edges']) + ' with named relations' if s.get('relation_edges') else ''}); "
        "saved as `knowledge_graph.graphml`.",
        "",
        "| type | entities | most frequent |",
        "|---|---|---|",
    ]
    for t, n in s["types"].items():
        tops = ", ".join(f"{text} ({f})" for text, f in s["top_by_type"][t])
        lines.append(f"| {t} | {n} | {tops} |")
    mp = s.get("main_parts")
    if mp:  # GCSE's second graph (synth.kg.main_parts), kept in the run's kg/main_parts.graphml
        roles = ", ".join(f"{r} {n}" for r, n in mp["roles"].items())
        lines += [
            "",
            f"Main parts (GCSE): {mp['nodes']} ({roles}) from {mp['anchors_with_main_parts']} anchors, "
            f"{mp['edges']} same-role neighbour edges (the run's `kg/main_parts.graphml`).",
        ]
    return "\n".join(lines)


def neighbourhood_seeds(g: nx.Graph, k: int, rng: random.Random, size: int = 3) -> list[list[str]]:
    """`k` groups of related entities (a node and its heaviest neighbours), e.g. topics for scratch anchors."""
    nodes = sorted(g.nodes, key=lambda n: (-g.nodes[n].get("freq", 0), n))
    out, used = [], set()
    for n in nodes:
        if len(out) >= k:
            break
        if n in used:  # already inside a group: another group around it would mostly repeat that one
            continue
        nbrs = sorted(g.neighbors(n), key=lambda m: (-g.edges[n, m]["weight"], m))[: size - 1]
        if nbrs:
            used.update([n, *nbrs])
            out.append([g.nodes[x]["text"] for x in [n, *nbrs]])
    rng.shuffle(out)
    return out
