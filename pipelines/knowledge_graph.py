"""The knowledge-graph stage, run before generation: extract facts per anchor shard (sharded, resumable),
build one networkx graph over all shards, and save it under the run dir.

```
<run>/kg/extractions/shard-NNNNN-<key>.jsonl   per anchor shard; a rerun skips finished ones
<run>/kg/extractions.jsonl                     all anchors, for the generation task
<run>/kg/graph.graphml, <run>/kg/summary.json  the graph and its summary (with its key)
<run>/kg/main_parts.graphml                    embedding graphs: GCSE's main-part graph (synth.kg.main_parts)
```
The graph key hashes the extraction shard keys; generation shards include it in their own key, so a
changed graph never reuses stale generations. Also: the dataset-card section and fact statistics.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from pipelines.anchors import read_anchor_shard
from pipelines.shards import shard_key, write_text_atomic
from synth.backends import BackendSpec, get_backend
from synth.embedded import model_hash
from synth.kg.extract import EXTENSION_FIELDS, GRAPH_FIELDS, Extraction, KnowledgeGraphSpec, build_extractor
from synth.kg.graph import build_graph, save_graph, summary, summary_markdown
from synth.kg.main_parts import build_main_part_graph
from synth.kg.neighbours import build_neighbour_graph

log = logging.getLogger(__name__)
# spaCy extraction lines now carry main parts: a cache written without them is re-extracted, not reused
SPACY_EXTRACTION_VERSION = "main-parts-1"


@dataclass(frozen=True)
class GraphArtifacts:
    graph_path: str
    extractions_path: str
    key: str
    summary: dict
    main_parts_path: str = ""  # the main-part graph, when one is built

    def extras(self) -> dict[str, str]:
        """What generation tasks get in `TaskContext.extras` (and what their shard keys include: not paths)."""
        out = {"graph_path": self.graph_path, "extractions_path": self.extractions_path, "graph_key": self.key}
        return {**out, "main_parts_path": self.main_parts_path} if self.main_parts_path else out


def extraction_key(spec: KnowledgeGraphSpec, backend: BackendSpec | None, anchor_ids: Sequence[str], seed: int) -> str:
    parts: list[Any] = [spec.model_dump(mode="json", exclude=set(GRAPH_FIELDS | EXTENSION_FIELDS)), list(anchor_ids)]
    if spec.extractor == "llm" and backend is not None:
        parts += [backend.model_dump(mode="json"), model_hash(backend.model), seed]
    if spec.extractor == "spacy":
        parts.append(SPACY_EXTRACTION_VERSION)
    return shard_key("kg-extract", *parts)


def extract_shard(
    anchor_shard: Path, index: int, spec: KnowledgeGraphSpec, backend: BackendSpec | None, seed: int, out_dir: Path
) -> tuple[Path, bool]:
    """Extract one anchor shard to JSONL (atomic); returns (path, skipped)."""
    anchors = read_anchor_shard(anchor_shard)
    key = extraction_key(spec, backend, [a.id for a in anchors], seed)
    out = out_dir / f"shard-{index:05d}-{key}.jsonl"
    if out.exists():
        return out, True
    llm = get_backend(backend) if spec.extractor == "llm" and backend is not None else None
    exs = build_extractor(spec, llm, seed).extract(anchors)
    write_text_atomic("".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in exs), out)
    return out, False


def read_extractions(paths: Sequence[Path]) -> list[Extraction]:
    return [
        Extraction.from_dict(json.loads(line))
        for p in paths
        for line in p.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def build_knowledge_graph(
    anchor_shards: Sequence[Path],
    spec: KnowledgeGraphSpec,
    backend: BackendSpec | None,
    seed: int,
    kg_dir: Path,
    prune: bool = True,
) -> GraphArtifacts:
    """Extract every anchor shard (finished ones skipped), then build and save the graph over all of them.
    `prune=False` keeps extraction shards of anchors not listed (the extension anchors a later call adds)."""
    out_dir = kg_dir / "extractions"
    done = [extract_shard(p, i, spec, backend, seed, out_dir) for i, p in enumerate(anchor_shards)]
    paths = [p for p, _ in done]
    for stale in sorted(out_dir.glob("shard-*.jsonl")) if prune else []:
        if stale not in paths:
            stale.unlink()  # a changed corpus or extractor: old extractions no longer belong to this run
    graph_settings = spec.model_dump(mode="json", include=set(GRAPH_FIELDS)) if spec.graph != "cooccurrence" else None
    key = shard_key("kg-graph", [p.name for p in paths], *([graph_settings] if graph_settings else []))
    graph_path, ex_path, sum_path = kg_dir / "graph.graphml", kg_dir / "extractions.jsonl", kg_dir / "summary.json"
    mp_path = kg_dir / "main_parts.graphml"
    if sum_path.exists() and graph_path.exists() and ex_path.exists():
        old = json.loads(sum_path.read_text(encoding="utf-8"))
        if old.get("key") == key and ("main_parts" not in old or mp_path.exists()):
            return GraphArtifacts(str(graph_path), str(ex_path), key, old, str(mp_path) if "main_parts" in old else "")
    exs = read_extractions(paths)
    g = make_graph(exs, spec)
    mg = make_main_part_graph(exs, spec)
    if mg is not None:
        save_graph(mg, mp_path)
    elif mp_path.exists():
        mp_path.unlink()  # written by an earlier embedding graph of this run
    save_graph(g, graph_path)
    write_text_atomic("".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in exs), ex_path)
    s = {
        "key": key,
        "anchors": len(exs),
        "extractor": spec.extractor,
        "graph": spec.graph,
        "extraction_errors": sum(1 for e in exs if e.error),
        **summary(g),
    }
    if mg is not None:
        s["main_parts"] = {
            "nodes": mg.number_of_nodes(),
            "edges": mg.number_of_edges(),
            "roles": summary(mg)["types"],
            "anchors_with_main_parts": sum(bool(e.main_parts) for e in exs),
        }
    write_text_atomic(json.dumps(s, indent=2, ensure_ascii=False), sum_path)
    log.info(
        "knowledge graph: %d nodes, %d edges from %d anchors (%d shards extracted, %d reused)",
        s["nodes"],
        s["edges"],
        len(exs),
        sum(not skipped for _, skipped in done),
        sum(skipped for _, skipped in done),
    )
    return GraphArtifacts(str(graph_path), str(ex_path), key, s, str(mp_path) if mg is not None else "")


def _encode(spec: KnowledgeGraphSpec):
    from pipelines.filters.consistency import load_encoder

    model = load_encoder(spec.encoder)
    return lambda texts: model.encode(texts, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)


def make_graph(exs: Sequence[Extraction], spec: KnowledgeGraphSpec):
    """The graph the recipe asks for: co-occurrence, or GCSE's same-type neighbours under the reference encoder."""
    if spec.graph == "cooccurrence":
        return build_graph(exs)
    return build_neighbour_graph(exs, _encode(spec), spec.neighbours, spec.min_similarity, spec.encoder)


def make_main_part_graph(exs: Sequence[Extraction], spec: KnowledgeGraphSpec):
    """GCSE's second graph (main parts, same-role neighbours) beside an embedding graph; None otherwise."""
    if spec.graph != "embedding" or not spec.main_part_neighbours:
        return None
    return build_main_part_graph(exs, _encode(spec), spec.main_part_neighbours, spec.min_similarity, spec.encoder)


def fact_stats(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Over kg_variants rows that parsed: positives that kept all facts, negatives that changed exactly one."""
    from pipelines.filters.knowledge import negative_reason, positive_reason
    from pipelines.schema import row_to_record

    recs = [
        row_to_record(r)
        for r in rows
        if r["task"] == "kg_variants"
        and not any(v["stage"] == "parse" and not v["kept"] for v in r.get("verdicts") or [])
        and not any(c["name"].startswith("reselect_reemitted") for c in r.get("checks") or [])
    ]  # no facts
    out = {"records": len(recs), "positives_kept_all_facts": 0, "negatives_changed_exactly_one": 0}
    for r in recs:
        out["positives_kept_all_facts"] += positive_reason(r) is None
        out["negatives_changed_exactly_one"] += negative_reason(r) is None
        key = f"negatives_{r.negative_kind}"
        out[key] = out.get(key, 0) + 1
        if negative_reason(r) is None:
            out[key + "_ok"] = out.get(key + "_ok", 0) + 1
    return out


def add_fact_stats(total: dict[str, int], rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """`total` plus fact_stats(rows): the curate stage sums them batch by batch."""
    for k, v in fact_stats(rows).items():
        total[k] = total.get(k, 0) + v
    return total


def card_sections(run_dir: Path, dataset_dir: Path, rows: Sequence[dict[str, Any]] | dict[str, int]) -> list[str]:
    """Copy the run's graphs (entities; main parts, when built) next to the dataset and describe them (and the
    fact checks: from the rows, or as summed by `add_fact_stats`) for the card."""
    kg = run_dir / "kg"
    if not (kg / "graph.graphml").exists():
        return []
    dataset_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(kg / "graph.graphml", dataset_dir / "knowledge_graph.graphml")
    if (kg / "main_parts.graphml").exists():  # GCSE's main-part graph, beside an embedding graph
        shutil.copyfile(kg / "main_parts.graphml", dataset_dir / "knowledge_graph_main_parts.graphml")
    s = json.loads((kg / "summary.json").read_text(encoding="utf-8"))
    text = summary_markdown(s)
    st = rows if isinstance(rows, dict) else fact_stats(rows)
    if st.get("records"):
        text += (
            f"\n\nOf {st['records']} parsed kg_variants records, {st['positives_kept_all_facts']} positives kept "
            f"every extracted entity and quantity and {st['negatives_changed_exactly_one']} hard negatives "
            "changed exactly their targeted fact (before any filter)."
        )
    return [text]
