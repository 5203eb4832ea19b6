"""The extension stage (GCSE steps 5-6), run after the knowledge graph: one round writes, for each source anchor,
at most one new anchor rebuilt by the generator from the anchor's graph fragments (synth.kg.extension).

```
<run>/extension/round-N/shard-NNNNN-<key>.parquet   the new anchors (source "extension:round-N:<source id>")
<run>/extension/round-N/provenance-<key>.jsonl      per source: path, fragments, swaps, blanked prompt, answer, reason
```
The round's key hashes its source shards, the knowledge-graph settings, generator, sampling and seed; a rerun
with the same key reuses the round without loading the model. The flow re-extracts the new anchors (the graph
stage over all shards) and hands them to generation with the corpus anchors.
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from typing import Sequence

import networkx as nx

from pipelines.anchors import read_anchor_shard, write_anchor_shards
from pipelines.shards import shard_key, write_text_atomic
from synth.backends import BackendSpec, get_backend
from synth.backends.base import Sampling
from synth.embedded import model_hash
from synth.kg.extension import extension_request, finish_extension, plan_extension
from synth.kg.extract import Extraction, KnowledgeGraphSpec
from synth.kg.graph import load_graph
from synth.records import Anchor

log = logging.getLogger(__name__)


def round_key(
    sources: Sequence[Path],
    spec: KnowledgeGraphSpec,
    backend: BackendSpec,
    sampling: Sampling,
    seed: int,
    round_: int,
    graph_key: str,
) -> str:
    return shard_key(
        "kg-extension",
        round_,
        [p.name for p in sources],
        graph_key,
        spec.model_dump(mode="json"),
        backend.model_dump(mode="json"),
        model_hash(backend.model),
        [sampling.max_tokens, sampling.temperature, sampling.top_p],
        seed,
    )


def extend_round(
    sources: Sequence[Path],
    extractions_path: str,
    graph_path: str,
    graph_key: str,
    spec: KnowledgeGraphSpec,
    backend: BackendSpec,
    sampling: Sampling,
    seed: int,
    out_dir: Path,
    round_: int,
    shard_size: int = 64,
    main_parts_path: str = "",
) -> tuple[list[Path], Path]:
    """One extension round over the anchors of `sources`: (new anchor shards, provenance file). Without a
    main-part graph (`main_parts_path`) the main-part path keeps the parts unswapped."""
    key = round_key(sources, spec, backend, sampling, seed, round_, graph_key)
    done = out_dir / f"provenance-{key}.jsonl"
    if done.exists():
        names = json.loads((out_dir / f"shards-{key}.json").read_text(encoding="utf-8"))
        return [out_dir / n for n in names], done
    anchors = [a for p in sources for a in read_anchor_shard(p)]
    known = {
        json.loads(line)["anchor_id"]: Extraction.from_dict(json.loads(line))
        for line in Path(extractions_path).read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    graph: nx.Graph = load_graph(graph_path)
    main_graph = load_graph(main_parts_path) if main_parts_path else None
    plans, requests = [], []
    for a in anchors:
        rng = random.Random(shard_key("ext-rng", seed, round_, a.id))
        ex = known.get(a.id) or Extraction(a.id, a.text)
        plan = plan_extension(
            a,
            ex,
            graph,
            rng,
            spec.extension_swap_rate,
            spec.extension_max_swaps,
            spec.extension_main_part_rate,
            main_graph,
            spec.extension_main_part_swaps,
        )
        if plan is None:
            continue
        plans.append(plan)
        requests.append(extension_request(plan, sampling, seed, rng, shots=spec.extension_exemplars, round_=round_))
    seen = {" ".join(a.text.casefold().split()) for a in anchors}
    outs = get_backend(backend).generate(requests) if requests else []
    finished = [finish_extension(p, o.text, seen) for p, o in zip(plans, outs)]
    new = [Anchor(p.text, source=f"extension:round-{round_}:{p.source_id}") for p in finished if p.text]
    shards = write_anchor_shards(new, out_dir, shard_size) if new else []
    rows = [{**p.to_dict(), "anchor_id": Anchor(p.text).id if p.text else None} for p in finished]
    rows += [
        {"source_id": a.id, "source": a.text, "reason": "no_fragments"}
        for a in anchors
        if a.id not in {p.source_id for p in plans}
    ]
    write_text_atomic(json.dumps([s.name for s in shards]), out_dir / f"shards-{key}.json")
    write_text_atomic("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), done)
    log.info(
        "extension round %d: %d sources, %d requests (%d by main parts), %d new anchors",
        round_,
        len(anchors),
        len(requests),
        sum(p.path == "main_parts" for p in plans),
        len(new),
    )
    return shards, done
