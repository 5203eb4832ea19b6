"""`synth push` against a stub Hub on 127.0.0.1 (HF_ENDPOINT): the real CLI, the real huggingface_hub client,
every request recorded; no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hub_stub import HubStub

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hf_stubtoken_do_not_print_1234"


def synth(*args: str, endpoint: str, home: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HF_ENDPOINT": endpoint,
        "HF_TOKEN": SECRET,
        "HF_HOME": str(home),
        "HF_HUB_OFFLINE": "0",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def _dataset(tmp_path: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests" / "pipelines"))
    from test_dataset_configs_fast import RECIPE, rows

    from pipelines.dataset import write_dataset

    d = tmp_path / "run" / "dataset"
    write_dataset(rows(), [], d, recipe_text=RECIPE, recipe_name="fast")
    (d / ".tmp-dataset-x").mkdir()  # a half-written leftover must not be published
    (d / ".tmp-dataset-x" / "junk.parquet").write_bytes(b"x")
    return d


def test_push_dataset_creates_private_repo_and_uploads_the_folder_with_the_token_unprinted(tmp_path):
    d = _dataset(tmp_path)
    with HubStub() as hub:
        res = synth(
            "push",
            str(d.parent),
            "someone/synthetic-triplets",
            "--private",
            "--what",
            "dataset",
            endpoint=hub.url,
            home=tmp_path / "hf",
        )
    assert res.returncode == 0, res.stdout + res.stderr
    create = [r for r in hub.requests if r.path == "/api/repos/create"]
    assert len(create) == 1 and json.loads(create[0].body) == {
        "name": "synthetic-triplets",
        "organization": "someone",
        "visibility": "private",
        "type": "dataset",
    }
    files = hub.committed_files()
    expected = {p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file() and ".tmp-" not in str(p)}
    assert set(files) == expected and "triplet/train-00000-of-00001.parquet" in files
    assert files["README.md"] == (d / "README.md").read_bytes()
    assert all(r.headers.get("authorization") == f"Bearer {SECRET}" for r in hub.requests if r.method == "POST")
    assert any("/api/datasets/someone/synthetic-triplets/commit/main" == r.path for r in hub.requests)
    assert SECRET not in res.stdout + res.stderr
    assert not any(
        SECRET.encode() in p.read_bytes()
        for p in tmp_path.rglob("*")
        if p.is_file() and "hf" not in p.relative_to(tmp_path).parts[:1]
    )


def test_push_model_dir_goes_to_a_model_repo_and_a_non_dir_is_refused(tmp_path):
    model = tmp_path / "run" / "model"
    model.mkdir(parents=True)
    (model / "modules.json").write_text("[]", encoding="utf-8")
    (model / "README.md").write_text("---\nlicense: apache-2.0\n---\n# m\n", encoding="utf-8")
    (model / "_checkpoints").mkdir()
    (model / "_checkpoints" / "x.bin").write_bytes(b"0")
    with HubStub() as hub:
        res = synth("push", str(model), "someone/enc", endpoint=hub.url, home=tmp_path / "hf")
        bad = synth("push", str(tmp_path), "someone/enc", endpoint=hub.url, home=tmp_path / "hf")
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(next(r for r in hub.requests if r.path == "/api/repos/create").body)["visibility"] == "public"
    assert set(hub.committed_files()) == {"modules.json", "README.md"}
    assert any(r.path == "/api/models/someone/enc/commit/main" for r in hub.requests)
    assert bad.returncode == 2 and "no stats.json or modules.json found" in " ".join(bad.stdout.split())
