"""`synth prepare-model` fails like every other command: one line naming the problem, exit 1, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def test_prepare_model_with_an_unknown_name_is_a_one_line_error():
    res = subprocess.run(
        [str(BIN / "synth"), "prepare-model", "no-such-llm"], capture_output=True, text=True, timeout=300
    )
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "unknown embedded LLM 'no-such-llm'" in out and "smollm2-135m-instruct" in out
    assert "Traceback" not in out
