"""Replace an output directory's contents (the dataset, the model) with a freshly built copy, touching only the
files the project wrote there, and surviving a kill at any point.

The new contents are built in a staging directory beside the target (`.tmp-<name>-*`). `swap_in` writes a
journal (`<target>/.swap.json`: files to move in, files of the old manifest to remove) and then carries it out;
`finish_swap` completes an interrupted journal (every step is idempotent), so the next command rolls forward.
`manifest.json` lists what the project wrote; anything else in the target (a Hub clone's `.git`, the user's own
notes) is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from pipelines.shards import write_text_atomic

MANIFEST = "manifest.json"
JOURNAL = ".swap.json"
# What versions before the manifest wrote into a dataset directory: replaced when such a dataset is rewritten.
LEGACY = {
    "dataset": (
        "data/*.parquet",
        "rejects/*.parquet",
        "plots/*.png",
        "README.md",
        "stats.json",
        "report.md",
        "*.graphml",
    ),
    "model": (),
}


def staging_dir(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=target.parent, prefix=f".tmp-{target.name}-"))


def manifest(target: Path) -> list[str]:
    """The files the project wrote into `target` (relative paths); [] when it never wrote there."""
    path = target / MANIFEST
    if path.exists():
        try:
            return list(json.loads(path.read_text(encoding="utf-8"))["files"])
        except (ValueError, KeyError, TypeError):
            pass
    if target.name in LEGACY and (target / "stats.json").exists():
        return sorted({p.relative_to(target).as_posix() for pat in LEGACY[target.name] for p in target.glob(pat)})
    return []


def swap_in(staged: Path, target: Path) -> list[str]:
    """Move everything under `staged` into `target` and remove the files of the old manifest that the new
    contents do not have; returns the new manifest."""
    files = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    files = [f for f in files if f != MANIFEST]
    (staged / MANIFEST).write_text(json.dumps({"files": files + [MANIFEST]}, indent=2), encoding="utf-8")
    old = manifest(target)
    target.mkdir(parents=True, exist_ok=True)
    journal = {"staged": staged.name, "files": files + [MANIFEST], "remove": sorted(set(old) - set(files) - {MANIFEST})}
    write_text_atomic(json.dumps(journal, indent=2), target / JOURNAL)
    finish_swap(target)
    return files + [MANIFEST]


def finish_swap(target: Path) -> bool:
    """Carry out (or complete, after a kill) the journal in `target`; True when there was one."""
    path = target / JOURNAL
    if not path.exists():
        return False
    journal = json.loads(path.read_text(encoding="utf-8"))
    staged = target.parent / journal["staged"]
    for rel in journal["files"]:
        src = staged / rel
        if src.exists():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, target / rel)
    for rel in journal["remove"]:
        old = target / rel
        if old.is_file():
            old.unlink()
        parent = old.parent
        while parent != target and parent.exists() and not any(parent.iterdir()):
            parent.rmdir()  # a folder only the old files lived in (plots/), now empty
            parent = parent.parent
    if staged.exists():
        shutil.rmtree(staged)  # our own staging dir; what it held has moved
    path.unlink()
    return True


def clean_staging(target: Path) -> int:
    """Remove staging directories a killed build left beside `target` (none is referenced by a journal)."""
    if (target / JOURNAL).exists():
        finish_swap(target)
    n = 0
    for p in target.parent.glob(f".tmp-{target.name}-*"):
        if p.is_dir():
            shutil.rmtree(p)
            n += 1
    return n
