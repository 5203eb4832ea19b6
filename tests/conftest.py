"""Test settings: one Prefect server per session in a temp home (every CLI subprocess inherits its URL instead of
starting its own temporary server), the model cache shared across the session."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def share_cores() -> None:
    """Torch's OpenMP threads, set before torch loads (CLI subprocesses inherit them): xdist workers split the
    cores, and waiting threads sleep instead of spinning. Two workers each spinning two threads on two cores ran
    generation 8-10x slower (bench/threads.py, docs/benchmarks.md)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


share_cores()
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="csynth-prefect-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
from prefect_server import start_session_server  # noqa: E402

start_session_server()  # before anything imports prefect: its settings are read once
from flows.env import configure_prefect  # noqa: E402

configure_prefect()

import pytest  # noqa: E402

SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED_DATA


@pytest.fixture(scope="session")
def smollm() -> object:
    """The real embedded LLM through the transformers backend, loaded once per session."""
    from synth.backends import TransformersSpec, get_backend

    return get_backend(TransformersSpec(batch_size=16))


@pytest.fixture(scope="session")
def minilm() -> object:
    from trainers.evaluate import load_encoder

    return load_encoder("embedded:all-minilm-l6-v2")
