"""Write a curated dataset with its report, and re-filter an existing dataset without regenerating.

Re-filtering starts from the generated shards when the run still has them (their order decides which
duplicate is "first"), else from the dataset's own `data/` + `rejects/` rows (every generated row is
in one of them). Either way the cosines an earlier `consistency` filter stored are reused when their
key still matches the encoder and the texts, and an earlier swap of positive/negative is undone first,
so new thresholds see the pairs as generated. The new dataset is built beside the old one and swapped in
file by file under a journal (pipelines.swap): a kill rolls forward on the next command, and files in the
dataset directory that the project did not write are never touched.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

from pipelines.curate import StageStats, load_rows
from pipelines.dataset import read_dataset_rows, write_dataset
from pipelines.filters.thresholds import unswap_row
from pipelines.report import Report, card_section, write_report
from pipelines.swap import staging_dir, swap_in

T = TypeVar("T")

REUSED_CHECKS = ("cos_pos", "cos_neg", "cos_pos_key", "cos_neg_key")


def find_dataset_dir(path: Path) -> Path:
    """A dataset dir, or a run dir containing `dataset/`; errors name the path."""
    p = Path(path)
    if (p / "dataset" / "stats.json").exists():
        p = p / "dataset"
    if not (p / "stats.json").exists():
        raise FileNotFoundError(f"{p}: not a contrastive-synth dataset (no stats.json)")
    return p


def stored_rows(dataset_dir: Path) -> list[dict[str, Any]]:
    """Every row of a dataset (kept and rejected), earlier swaps undone, kept rows first within a shard."""
    rows = [unswap_row(r) for r in read_dataset_rows(dataset_dir, "data") + read_dataset_rows(dataset_dir, "rejects")]
    rows.sort(key=lambda r: ((r.get("provenance") or {}).get("shard") or "", not r["kept"]))
    return rows


def load_for_refilter(dataset_dir: Path, shards: Sequence[Path] = ()) -> list[dict[str, Any]]:
    """The rows to re-filter: the planned generated shards if all are present (plus stored cosines), else the
    dataset's own rows."""
    stored = stored_rows(dataset_dir)
    generated = load_rows(shards) if shards and all(Path(p).exists() for p in shards) else []
    if not generated:
        return stored
    cached = {r["id"]: [c for c in r.get("checks") or [] if c["name"] in REUSED_CHECKS] for r in stored}
    for row in generated:
        names = {c["name"] for c in row.get("checks") or []}
        row["checks"] = list(row.get("checks") or []) + [c for c in cached.get(row["id"], [])
                                                         if c["name"] not in names]
    return generated


def write_curated(rows: Sequence[dict], stats: Sequence[StageStats], out_dir: Path, *, filters: Sequence[Any] = (),
                  recipe_text: str = "", recipe_name: str = "",
                  extra_sections: Sequence[str] = ()) -> tuple[dict[str, Any], Report]:
    """report.md + plots, then the dataset (data/, rejects/, card linking the report, stats.json)."""
    report = write_report(rows, stats, out_dir, title=recipe_name, filters=filters)
    summary = write_dataset(rows, stats, out_dir, recipe_text=recipe_text, recipe_name=recipe_name,
                            extra_sections=[card_section(report), *extra_sections])
    return summary, report


def build_and_swap(dataset_dir: Path, build: Callable[[Path], T]) -> T:
    """Build a dataset in a staging dir beside `dataset_dir` with `build(staging)`, then swap it in: only the
    files of the old dataset's manifest are replaced or removed, a kill at any point rolls forward on the next
    command (pipelines.swap), and files the project did not write stay."""
    dataset_dir = Path(dataset_dir)
    staged = staging_dir(dataset_dir)
    try:
        out = build(staged)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    swap_in(staged, dataset_dir)
    return out


def rewrite_dataset(rows: Sequence[dict], stats: Sequence[StageStats], dataset_dir: Path, *,
                    filters: Sequence[Any] = (), recipe_text: str = "",
                    recipe_name: str = "") -> tuple[dict[str, Any], Report]:
    """write_curated into a staging dir, swapped in place of dataset_dir's own files."""
    return build_and_swap(dataset_dir, lambda staged: write_curated(rows, stats, staged, filters=filters,
                                                                    recipe_text=recipe_text, recipe_name=recipe_name))
