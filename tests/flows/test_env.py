"""Issue 17: the CLI's Prefect defaults never override a user's own Prefect configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, flows.cli; from prefect.settings import get_current_settings as g; s = g(); "
    "print(json.dumps({'api': s.api.url, 'analytics': s.server.analytics_enabled, "
    "'home': str(s.home)}))"
)


def probe(env: dict[str, str], cwd: Path) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    res = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**base, "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_users_profile_is_respected_and_defaults_fill_only_the_unset(tmp_path):
    home = tmp_path / "home"
    (home / ".prefect").mkdir(parents=True)
    (home / ".prefect" / "profiles.toml").write_text(
        'active = "mine"\n[profiles.mine]\nPREFECT_API_URL = "http://127.0.0.1:4999/api"\n'
        'PREFECT_SERVER_ANALYTICS_ENABLED = "true"\n',
        encoding="utf-8",
    )
    got = probe({"HOME": str(home)}, tmp_path)
    assert got == {"api": "http://127.0.0.1:4999/api", "analytics": True, "home": str(home / ".prefect")}
    assert not (tmp_path / "data" / ".prefect").exists()


def test_without_user_config_the_ephemeral_home_is_under_data(tmp_path):
    got = probe({"HOME": str(tmp_path / "empty-home")}, tmp_path)
    assert got == {"api": None, "analytics": False, "home": str(tmp_path / "data" / ".prefect")}
    env_url = probe({"HOME": str(tmp_path / "empty-home"), "PREFECT_API_URL": "http://127.0.0.1:4998/api"}, tmp_path)
    assert env_url["api"] == "http://127.0.0.1:4998/api"
