"""The anchors stage for SynCSE-scratch: the LLM writes the anchors (synth.tasks.scratch), they are written
as ordinary anchor shards, and every rejected candidate goes to `anchors/scratch_rejects.jsonl` with its
reason. A manifest keyed by the [scratch] settings, backend, model and seed makes reruns reuse the shards."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.anchors import write_anchor_shards
from pipelines.shards import shard_key, write_text_atomic
from synth.backends import BackendSpec, get_backend
from synth.embedded import model_hash
from synth.tasks.scratch import ScratchSpec, write_anchors

REJECTS = "scratch_rejects.jsonl"


def scratch_anchor_shards(
    spec: ScratchSpec, backend: BackendSpec, seed: int, directory: Path
) -> tuple[list[Path], dict]:
    """Anchor shard paths plus counts {anchors, rejected, by_reason}; generated once per key."""
    key = shard_key(
        "scratch", spec.model_dump(mode="json"), backend.model_dump(mode="json"), seed, model_hash(backend.model)
    )
    manifest = directory / f"scratch-{key}.json"
    if manifest.exists():
        done = json.loads(manifest.read_text(encoding="utf-8"))
        paths = [directory / name for name in done["shards"]]
        if all(p.exists() for p in paths):
            return paths, done["counts"]
    anchors, rejects = write_anchors(spec, get_backend(backend), seed)
    by_reason: dict[str, int] = {}
    for r in rejects:
        by_reason[r.reason] = by_reason.get(r.reason, 0) + 1
    lines = [json.dumps(r.__dict__, ensure_ascii=False) for r in rejects]
    write_text_atomic("\n".join(lines) + ("\n" if lines else ""), directory / REJECTS)
    if not anchors:
        raise RuntimeError(
            f"[scratch]: the LLM wrote no usable anchor in {spec.max_rounds} rounds; "
            f"rejects by reason {by_reason} are in {directory / REJECTS}"
        )
    paths = write_anchor_shards(anchors, directory, spec.shard_size)
    counts = {"anchors": len(anchors), "rejected": len(rejects), "by_reason": by_reason}
    for old in directory.glob("scratch-*.json"):
        old.unlink()
    write_text_atomic(json.dumps({"shards": [p.name for p in paths], "counts": counts}, indent=2), manifest)
    return paths, counts
