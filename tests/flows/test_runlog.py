"""Issue 17: every command on a run dir starts its run.log section with the command line, also when it succeeds."""
from __future__ import annotations

import logging

from flows.runlog import run_log


def test_header_is_written_for_a_command_that_succeeds(tmp_path, monkeypatch):
    monkeypatch.setattr("sys.argv", ["synth", "refilter", "data/x"])
    logging.getLogger("flows").setLevel(logging.NOTSET)
    with run_log(tmp_path, "refilter"):
        pass
    assert "synth refilter data/x" in (tmp_path / "run.log").read_text()
