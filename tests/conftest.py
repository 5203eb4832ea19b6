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
