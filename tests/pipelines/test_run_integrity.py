"""Run-directory integrity without an LLM: shard keys over file contents, broken and stale shards, the dataset
swap that keeps the user's files, the run-dir checks and the one-writer lock (issue 12)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from filtering_helpers import rec, write_shard

from pipelines.anchors import write_anchor_shards
from pipelines.plan import pending_jobs, plan_task_jobs
from pipelines.refilter import rewrite_dataset
from pipelines.rundir import RunDirError, check_run_dir, recover, run_lock
from pipelines.runplan import RunPlan, plan_stages
from pipelines.shards import finished_shards
from pipelines.swap import JOURNAL, MANIFEST, finish_swap, staging_dir, swap_in
from synth.backends import TransformersSpec
from synth.backends.base import Sampling
from synth.records import Anchor
from synth.tasks.pairs import PairsSpec

PAIRS_PROMPTS = Path(__file__).resolve().parents[2] / "synth" / "prompts" / "pairs"


def _anchor_shards(tmp_path, n=4, size=2):
    return write_anchor_shards(
        [Anchor(text=f"Sentence number {i} is here.") for i in range(n)], tmp_path / "anchors", size
    )


def _keys(spec, shards, tmp_path, **kw):
    args = dict(
        backend=TransformersSpec(),
        sampling=Sampling(max_tokens=8),
        seed=1,
        recipe_hash="h",
        generated_dir=tmp_path / "generated",
    )
    args.update(kw)
    return [Path(j.out_path).name for j in plan_task_jobs(spec, shards, **args)]


def test_editing_one_exemplar_line_changes_that_tasks_keys_and_nothing_else_does(tmp_path):
    shards = _anchor_shards(tmp_path)
    mine = tmp_path / "my_positive_exemplars.jsonl"
    mine.write_bytes((PAIRS_PROMPTS / "positive_exemplars.jsonl").read_bytes())
    spec = PairsSpec(positive_exemplars=str(mine))
    before = _keys(spec, shards, tmp_path)
    assert _keys(spec, shards, tmp_path) == before  # nothing changed: nothing regenerates
    lines = mine.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[0])
    row["output"] = row["output"] + " Indeed."
    mine.write_text("\n".join([json.dumps(row)] + lines[1:]) + "\n", encoding="utf-8")
    after = _keys(spec, shards, tmp_path)
    assert all(a != b for a, b in zip(before, after))  # same path, new content: every shard regenerates
    # every setting that decides the content is in the key
    assert _keys(spec, shards, tmp_path, sampling=Sampling(max_tokens=8, temperature=0.9)) != after
    assert _keys(spec, shards, tmp_path, backend=TransformersSpec(batch_size=3)) != after
    assert _keys(spec, shards, tmp_path, seed=2) != after


def test_parser_and_shard_layout_versions_are_in_the_key(tmp_path, monkeypatch):
    import pipelines.plan as plan

    shards = _anchor_shards(tmp_path)
    before = _keys(PairsSpec(), shards, tmp_path)
    monkeypatch.setattr(plan, "PARSER_VERSION", plan.PARSER_VERSION + 1)
    assert _keys(PairsSpec(), shards, tmp_path) != before
    monkeypatch.undo()
    monkeypatch.setattr(plan, "SHARD_LAYOUT_VERSION", plan.SHARD_LAYOUT_VERSION + 1)
    assert _keys(PairsSpec(), shards, tmp_path) != before  # (the dataset schema's version is not: test_bad_input)


def test_a_local_model_is_keyed_by_its_content_not_its_mtime(tmp_path, monkeypatch):
    from synth.embedded import model_hash

    monkeypatch.setenv("CSYNTH_CACHE", str(tmp_path / "cache"))
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"weights-a")
    (model / "config.json").write_text("{}")
    h = model_hash(str(model))
    os.utime(model / "model.safetensors", (1, 1))  # touched, same bytes
    assert model_hash(str(model)) == h
    (model / "model.safetensors").write_bytes(b"weights-b")  # same size, new bytes
    os.utime(model / "model.safetensors", (1, 1))
    assert model_hash(str(model)) != h


@pytest.mark.parametrize("damage", ["empty", "truncated", "not_parquet"])
def test_a_broken_shard_is_moved_aside_and_planned_again(tmp_path, damage):
    shards = _anchor_shards(tmp_path)
    jobs = plan_task_jobs(
        PairsSpec(), shards, TransformersSpec(), Sampling(max_tokens=8), 1, "h", tmp_path / "generated"
    )
    good = write_shard(Path(jobs[0].out_path).parent, 0, [rec("a b c d", "e f g h", "i j k l")])
    os.replace(good, jobs[0].out_path)
    bad = Path(jobs[1].out_path)
    whole = Path(jobs[0].out_path).read_bytes()
    bad.write_bytes({"empty": b"", "truncated": whole[: len(whole) // 2], "not_parquet": b"PAR1 garbage"}[damage])
    pending = pending_jobs(jobs)
    assert [j.out_path for j in pending] == [str(bad)]
    assert not bad.exists()
    aside = list((tmp_path / "generated" / ".broken" / "pairs").iterdir())
    assert [p.name for p in aside] == [bad.name]  # kept for inspection, never deleted


def test_broken_anchor_shard_is_rewritten(tmp_path):
    shards = _anchor_shards(tmp_path)
    shards[1].write_bytes(b"")
    again = _anchor_shards(tmp_path)
    assert again == shards and pq.read_table(again[1]).num_rows == 2


def test_stale_shards_move_aside_and_come_back_when_planned_again(tmp_path):
    from pipelines.shards import restore_stale, set_aside_unplanned

    d = tmp_path / "generated" / "pairs"
    a = write_shard(d, 0, [rec("a b c d", "e f g h", "i j k l")])
    b = write_shard(d, 1, [rec("m n o p", "q r s t", "u v w x")])
    moved = set_aside_unplanned(d, [a])
    assert finished_shards(d) == [a] and moved == [tmp_path / "generated" / ".stale" / "pairs" / b.name]
    assert restore_stale(b) and finished_shards(d) == [a, b]


def test_refilter_keeps_files_the_project_did_not_write(tmp_path):
    from pipelines.curate import apply_filters, load_rows

    run = tmp_path / "run"
    shard = write_shard(
        run / "generated" / "pairs",
        0,
        [rec(f"anchor {i} a b", f"pos {i} c d", f"neg {i} e f", seed=i) for i in range(3)],
    )
    rows = load_rows([shard])
    rewrite_dataset(rows, apply_filters(rows, []), run / "dataset", recipe_name="t")
    ds = run / "dataset"
    (ds / ".git").mkdir()
    (ds / ".git" / "config").write_text("[core]\n")
    (ds / "NOTES.md").write_text("mine")
    (ds / "data" / "mine.txt").write_text("also mine")
    listed = json.loads((ds / MANIFEST).read_text())["files"]
    assert "data/train-00000-of-00001.parquet" in listed and "NOTES.md" not in listed
    rows = load_rows([shard])
    rewrite_dataset(rows, apply_filters(rows, []), ds, recipe_name="t")
    assert (ds / ".git" / "config").read_text() == "[core]\n" and (ds / "NOTES.md").read_text() == "mine"
    assert (ds / "data" / "mine.txt").read_text() == "also mine"
    assert sum(pq.read_metadata(p).num_rows for p in (ds / "data").glob("*.parquet")) == 3
    assert not list(tmp_path.rglob(".tmp-*")) and not (ds / JOURNAL).exists()


def test_a_swap_killed_halfway_rolls_forward(tmp_path):
    target = tmp_path / "dataset"
    first = staging_dir(target)
    (first / "data").mkdir()
    (first / "data" / "train-00000-of-00002.parquet").write_text("old 1")
    (first / "data" / "train-00001-of-00002.parquet").write_text("old 2")
    swap_in(first, target)
    second = staging_dir(target)
    (second / "data").mkdir()
    (second / "data" / "train-00000-of-00001.parquet").write_text("new")
    (second / MANIFEST).write_text(json.dumps({"files": ["data/train-00000-of-00001.parquet", MANIFEST]}))
    journal = {
        "staged": second.name,
        "files": ["data/train-00000-of-00001.parquet", MANIFEST],
        "remove": ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"],
    }
    (target / JOURNAL).write_text(json.dumps(journal))
    os.replace(second / "data" / "train-00000-of-00001.parquet", target / "data" / "train-00000-of-00001.parquet")
    # ... killed here: one file moved, old files still there, journal present
    recover(tmp_path)
    assert sorted(p.name for p in (target / "data").iterdir()) == ["train-00000-of-00001.parquet"]
    assert not second.exists() and not (target / JOURNAL).exists()
    assert not finish_swap(target)


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_are_refused(name):
    from flows.recipe import RecipeError, recipe_from_dict

    with pytest.raises(RecipeError, match="name"):
        recipe_from_dict({"name": name, "sampling": {"max_tokens": 8}})


def test_foreign_non_empty_output_dir_is_refused_unless_allowed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "chapter1.tex").write_text("x")
    with pytest.raises(RunDirError, match="not a contrastive-synth run.*--allow-existing-dir"):
        check_run_dir(foreign)
    assert check_run_dir(foreign, allow_existing=True) == foreign.resolve()
    with pytest.raises(RunDirError, match="current directory"):
        check_run_dir(Path("data") / "..")
    RunPlan(
        foreign, plan_stages([PairsSpec()], scratch=False, knowledge_graph=False, train=False, evaluate=False)
    ).write()
    assert check_run_dir(foreign) == foreign.resolve()  # once planned, it is a run


def test_recover_walks_only_project_folders(tmp_path):
    run = tmp_path / "run"
    (run / "generated" / "pairs").mkdir(parents=True)
    (run / "generated" / "pairs" / ".tmp-abc.parquet").write_text("partial")
    (run / "notes").mkdir()
    (run / "notes" / ".tmp-user-file").write_text("the user's")
    assert recover(run)["partial_files"] == 1
    assert (run / "notes" / ".tmp-user-file").exists()


HOLD = """
import sys, time
sys.path.insert(0, {root!r})
from pipelines.rundir import run_lock
with run_lock({run!r}, "synth generate my.toml"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_one_writer_per_run_dir_and_a_killed_holder_releases_it(tmp_path):
    run = tmp_path / "run"
    root = str(Path(__file__).resolve().parents[2])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD.format(root=root, run=str(run))], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.perf_counter()
        with pytest.raises(RunDirError) as e:
            with run_lock(run, "synth filter"):
                pass
        assert time.perf_counter() - t0 < 2  # at once, not after a wait
        assert f"pid {holder.pid}" in str(e.value) and "synth generate my.toml" in str(e.value)
    finally:
        holder.kill()  # SIGKILL: no cleanup code runs in the holder
        holder.wait()
    with run_lock(run, "synth filter"):  # the kernel released the lock with the process
        with run_lock(run, "nested flow"):  # re-entrant within a process
            pass
