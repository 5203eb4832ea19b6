"""Write the curated rows as a Parquet dataset (kept rows in `data/`, rejects in `rejects/`) with a
dataset card, loadable by `datasets.load_dataset("parquet", data_dir=...)` or by the directory itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import pyarrow.parquet as pq

from pipelines import card as hub_card
from pipelines.configs import write_configs
from pipelines.curate import StageStats, reason_class
from pipelines.schema import SCHEMA_VERSION, rows_to_table
from pipelines.shards import write_table_atomic, write_text_atomic
from pipelines.swap import MANIFEST, manifest

ROWS_PER_FILE = 50_000


def write_split(rows: Sequence[dict[str, Any]], directory: Path, prefix: str) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    n_files = max(1, -(-len(rows) // ROWS_PER_FILE))
    paths = []
    for i in range(n_files):
        chunk = rows[i * ROWS_PER_FILE : (i + 1) * ROWS_PER_FILE]
        paths.append(write_table_atomic(rows_to_table(chunk), directory / f"{prefix}-{i:05d}-of-{n_files:05d}.parquet"))
    return paths  # written into a fresh staging dir: files of an older dataset go by its manifest (pipelines.swap)


def filter_table_markdown(stats: Sequence[StageStats]) -> str:
    """The per-stage table shared with report.md, `synth inspect` and the Prefect artifact."""
    from pipelines.report import filter_table_markdown as table

    return table(stats)


def write_dataset(
    rows: Sequence[dict[str, Any]],
    stats: Sequence[StageStats],
    out_dir: Path,
    *,
    recipe_text: str = "",
    recipe_name: str = "",
    extra_sections: Sequence[str] = (),
) -> dict[str, Any]:
    """Kept rows -> data/, rejected rows -> rejects/, plus README.md (card) and stats.json."""
    kept = [r for r in rows if r["kept"]]
    rejected = [r for r in rows if not r["kept"]]
    write_split(kept, out_dir / "data", "train")
    write_split(rejected, out_dir / "rejects", "rejects")
    by_task: dict[str, dict[str, int]] = {}
    for r in rows:
        t = by_task.setdefault(r["task"], {"generated": 0, "kept": 0})
        t["generated"] += 1
        t["kept"] += int(r["kept"])
    reasons: dict[str, int] = {}
    for r in rejected:
        reasons[reason_class(r["reason"])] = reasons.get(reason_class(r["reason"]), 0) + 1
    prov = rows[0]["provenance"] if rows else {}
    summary = {
        "schema_version": SCHEMA_VERSION,
        "rows": len(rows),
        "kept": len(kept),
        "rejected": len(rejected),
        "by_task": by_task,
        "rejects_by_reason": dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
        "filters": [s.__dict__ for s in stats],
        "generator": {
            k: prov.get(k)
            for k in ("backend", "model", "model_hash", "temperature", "top_p", "max_tokens", "recipe_hash")
        },
    }
    return finish_dataset(
        summary, stats, out_dir, recipe_text=recipe_text, recipe_name=recipe_name, extra_sections=extra_sections
    )


def finish_dataset(
    summary: dict[str, Any],
    stats: Sequence[StageStats],
    out_dir: Path,
    *,
    recipe_text: str = "",
    recipe_name: str = "",
    extra_sections: Sequence[str] = (),
) -> dict[str, Any]:
    """After data/ and rejects/ are written (whole-list or streamed): the configs, stats.json and the card."""
    out_dir = Path(out_dir)
    configs = write_configs(out_dir, hub_card.judge_scale(recipe_text))  # triplet, pair, ... beside data/
    summary["configs"] = {n: {"path": str(p.relative_to(out_dir)), "rows": k} for n, (p, k) in configs.items()}
    write_text_atomic(json.dumps(summary, indent=2), out_dir / "stats.json")
    write_text_atomic(
        hub_card.render(
            summary,
            _card(summary, stats, recipe_text, recipe_name, extra_sections),
            recipe_text,
            {n: k for n, (_, k) in configs.items()},
            recipe_name,
            out_dir,
        ),
        out_dir / "README.md",
    )
    return summary


def _card(
    summary: dict[str, Any],
    stats: Sequence[StageStats],
    recipe_text: str,
    recipe_name: str,
    extra_sections: Sequence[str],
) -> str:
    g = summary["generator"]
    tasks = "\n".join(f"| {t} | {c['generated']} | {c['kept']} |" for t, c in summary["by_task"].items())
    return f"""# {recipe_name or "contrastive-synth"} dataset

Synthetic contrastive data written by contrastive-synth (schema version {summary["schema_version"]}).
Kept rows: **{summary["kept"]}** of {summary["rows"]} generated; every rejected row is in `rejects/` with
its reason. Load a config with `datasets.load_dataset("<this dir>", "triplet")` (configs below).

## Records by task

| task | generated | kept |
|---|---|---|
{tasks}

## Filters (in order)

{filter_table_markdown(stats)}

## Provenance

- backend: `{g.get("backend")}`, model: `{g.get("model")}` (hash `{g.get("model_hash")}`)
- sampling: temperature {g.get("temperature")}, top_p {g.get("top_p")}, max_tokens {g.get("max_tokens")}
- recipe hash: `{g.get("recipe_hash")}`; per-row prompt ids, exemplar ids and seeds are in the `provenance` column.
{"".join(chr(10) + s + chr(10) for s in extra_sections)}
## Recipe

```toml
{recipe_text.strip()}
```
"""


def split_files(dataset_dir: Path, split: str = "data") -> list[Path]:
    """The Parquet files of one split that the dataset's manifest lists (older datasets: the split's files)."""
    listed = [dataset_dir / f for f in manifest(dataset_dir) if f.startswith(f"{split}/") and f.endswith(".parquet")]
    return sorted(listed) if (dataset_dir / MANIFEST).exists() else sorted((dataset_dir / split).glob("*.parquet"))


def read_dataset_rows(dataset_dir: Path, split: str = "data") -> list[dict[str, Any]]:
    """Rows of one split, from the files the dataset's manifest lists (older datasets: the split's Parquet files)."""
    return [r for f in split_files(dataset_dir, split) for r in pq.read_table(f).to_pylist()]
