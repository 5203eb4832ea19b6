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


def test_flow_runs_are_named_after_the_recipe_object_or_its_dict_form(monkeypatch):
    """`recipe_run_name` names a run from the recipe parameter (an object with `.name`: a Recipe), or from its dict
    form (a deployment's run)."""
    from types import SimpleNamespace

    import prefect.runtime.flow_run as runtime

    from flows.env import recipe_run_name

    name = recipe_run_name("curate")
    for params in ({"recipe": SimpleNamespace(name="nightly")}, {"recipe": {"name": "nightly"}}):
        monkeypatch.setitem(runtime.FIELDS, "parameters", lambda p=params: p)
        assert name() == "nightly-curate"
    monkeypatch.setitem(runtime.FIELDS, "parameters", lambda: {})
    assert name() == "curate"
