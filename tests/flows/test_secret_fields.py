"""Keys pasted into the wrong recipe field are refused through the real CLI, and the error never repeats them:
an identifier-shaped key in api_key_env, a key in any other field, credentials inside base_url."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

HF = "hf_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9"
SK = "sk-proj-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2"
GH = "ghp_" + "0123456789abcdefABCDEF0123456789ab"

RECIPE = """
name = "{name}"
output_dir = "{out}"
[corpus]
limit = 2
[generator]
backend = "openai"
model = "m"
base_url = "{url}"
{key_line}
[sampling]
max_tokens = 8
[[tasks]]
name = "pairs"
"""


def _generate(tmp_path, name="k", url="http://127.0.0.1:9/v1", key_line="", extra=()):
    from flows.cli import app

    path = tmp_path / "r.toml"
    path.write_text(
        RECIPE.format(name=name, out=(tmp_path / "run").as_posix(), url=url, key_line=key_line), encoding="utf-8"
    )
    res = CliRunner().invoke(app, ["generate", str(path), *extra])
    return res.exit_code, " ".join(res.output.split())


@pytest.mark.parametrize("key", [HF, SK, GH])
def test_a_key_in_api_key_env_is_refused_without_echoing_it(tmp_path, key):
    code, out = _generate(tmp_path, key_line=f'api_key_env = "{key}"')
    assert code == 2 and "generator.api_key_env" in out and "environment variable" in out
    assert key not in out and key[:10] not in out
    assert not (tmp_path / "run" / "recipe.toml").exists()


def test_a_key_in_any_other_field_or_an_override_is_refused(tmp_path):
    code, out = _generate(tmp_path, name=SK)
    assert code == 2 and "name holds what looks like an API key" in out and SK not in out
    code, out = _generate(tmp_path, extra=["--set", f'corpus.path="{GH}"'])
    assert code == 2 and "corpus.path" in out and GH not in out


@pytest.mark.parametrize(
    "url, secret",
    [
        ("https://user:s3cretpassw0rd@llm.example.com/v1", "s3cretpassw0rd"),
        ("https://llm.example.com/v1?api_key=s3cretpassw0rd", "s3cretpassw0rd"),
        (f"https://llm.example.com/{SK}/v1", SK),
    ],
)
def test_credentials_in_base_url_are_refused_with_where_keys_belong(tmp_path, url, secret):
    code, out = _generate(tmp_path, url=url)
    assert code == 2 and "generator.base_url" in out and "api_key_env" in out
    assert secret not in out


def test_ordinary_values_still_pass():
    from synth.secrets import check_base_url, check_env_name, looks_like_secret

    assert check_env_name("OPENAI_API_KEY") == "OPENAI_API_KEY"
    assert check_base_url("https://api.example.com/v1?model=x") and check_base_url("http://127.0.0.1:8000/v1")
    assert not looks_like_secret("sk-learn is a library") and not looks_like_secret("task-specific hf_model")
