"""A recipe that cannot run stops the CLI with exit code 2 and one readable message naming the file, the key
and what is allowed; no traceback, no flow started."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from flows.cli import app

GOOD = 'name = "t"\n[sampling]\nmax_tokens = 8\n[[tasks]]\nname = "pairs"\n'


def _run(tmp_path, text: str | bytes, *args: str):
    p = tmp_path / "r.toml"
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    res = CliRunner().invoke(app, ["generate", str(p), *args])
    return p, res, " ".join(res.output.split())


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("[corpus]\nlimit = 'many'\n", "corpus.limit: Input should be a valid integer"),
        ("[corpus]\nlimt = 3\n", "corpus.limt: unknown key"),
        ("[[tasks]]\nname = 'pairs'\ncolour = 'blue'\n", "tasks.1.pairs.colour: unknown key"),
        ("[executor]\nkind = 'slurm'\n", "executor.kind: Input should be 'local' or 'ray'"),
        ("[executor]\nkind = 'ray'\nworkers = 0\n", "executor.workers: Input should be greater than or equal to 1"),
        ("[generator]\nbackend = 'transformers'\nbatch_size = '16x'\n", "generator.transformers.batch_size"),
        ("[sampling]\nmax_tokens = 8\n", "not valid TOML: Cannot declare ('sampling',) twice (at line 6"),
    ],
)
def test_wrong_types_and_unknown_keys_exit_2_naming_the_key(tmp_path, extra, expected):
    p, res, out = _run(tmp_path, GOOD + extra)
    assert res.exit_code == 2, res.output
    assert str(p) in out and expected in out and "Traceback" not in out


def test_an_unknown_top_level_key(tmp_path):
    p, res, out = _run(tmp_path, "colour = 'blue'\n" + GOOD)
    assert res.exit_code == 2 and f"{p}: invalid recipe (1 problem) - colour: unknown key" in out


def test_unknown_task_lists_the_allowed_names(tmp_path):
    _, res, out = _run(tmp_path, GOOD.replace('name = "pairs"', 'name = "parrots"'))
    assert res.exit_code == 2 and "tasks.0" in out and "parrots" in out and "'pairs'" in out


def test_invalid_utf8_recipe_names_the_line(tmp_path):
    p, res, out = _run(tmp_path, GOOD.encode() + b"# caf\xe9\n")
    assert res.exit_code == 2 and f"{p}:6: not valid UTF-8 (byte 0xe9" in out


def test_a_bad_override_names_the_key(tmp_path):
    _, res, out = _run(tmp_path, GOOD, "--set", "corpus.limit=-1")
    assert res.exit_code == 2 and "corpus.limit: Input should be greater than or equal to 1" in out


def test_a_missing_recipe_file(tmp_path):
    res = CliRunner().invoke(app, ["generate", str(tmp_path / "nope.toml")])
    assert res.exit_code == 2 and "nope.toml: recipe file not found" in " ".join(res.output.split())
