"""Keep secrets out of recipes: values that look like API keys, and credentials inside URLs, are refused.

Recipes are echoed (errors, `--help` defaults, logs) and stored (recipe.toml, dataset cards, Prefect's database,
shard keys), so a key must only ever live in an environment variable that the recipe names. Every error here
names the field and the kind of secret, never the value.
"""

from __future__ import annotations

import re
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlsplit

# Prefixes providers put on their keys; long enough bodies that ordinary words never match.
KEY_SHAPES = re.compile(
    r"(?:^|[^A-Za-z0-9])(?:sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{16,}|hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,}|"
    r"github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_\-]{16,}|xox[abprs]-[A-Za-z0-9\-]{10,}|AKIA[0-9A-Z]{16}|"
    r"AIza[0-9A-Za-z_\-]{30,}|r8_[A-Za-z0-9]{20,}|gsk_[A-Za-z0-9]{20,}|nvapi-[A-Za-z0-9_\-]{20,})"
)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_PARAMS = {
    "key",
    "api_key",
    "apikey",
    "api-key",
    "token",
    "access_token",
    "auth",
    "secret",
    "password",
    "sig",
    "signature",
    "x-api-key",
}
WHERE_KEYS_BELONG = (
    "put the key in an environment variable and give its NAME in generator.api_key_env "
    '(for example api_key_env = "OPENAI_API_KEY")'
)


def looks_like_secret(value: str) -> bool:
    """True when `value` contains something shaped like a provider's API key or token."""
    return bool(KEY_SHAPES.search(value))


def check_env_name(value: str) -> str:
    """An environment variable's NAME, never a key: refused without echoing it."""
    if looks_like_secret(value):
        raise ValueError(
            f"this looks like an API key itself, not the name of a variable; {WHERE_KEYS_BELONG}. "
            "The value is not repeated here"
        )
    if not ENV_NAME.match(value):
        raise ValueError(
            "must be the NAME of an environment variable (letters, digits, _; not starting with a "
            "digit); the value is not repeated here"
        )
    return value


def url_credentials(url: str) -> str | None:
    """What kind of credential an http(s) URL carries (never the credential itself), or None."""
    try:
        parts = urlsplit(url)
        userinfo = "@" in parts.netloc
    except ValueError:
        return None
    if userinfo:
        return "credentials before its host (user:key@)"
    if any(k.lower() in SECRET_PARAMS for k, _ in parse_qsl(parts.query, keep_blank_values=True)):
        return "a credential in its query string"
    if looks_like_secret(url):
        return "what looks like an API key"
    return None


def check_base_url(url: str) -> str:
    """A server URL without credentials (user:password@, ?api_key=, a key-shaped part)."""
    kind = url_credentials(url)
    if kind:
        raise ValueError(f"the URL carries {kind}; {WHERE_KEYS_BELONG}")
    return url


def secret_fields(obj: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, what it holds) for every string in a nested dict/list recipe that looks like a secret or is
    a URL with credentials; never the values."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from secret_fields(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from secret_fields(v, f"{path}[{i}]")
    elif isinstance(obj, str):
        kind = url_credentials(obj) if obj.startswith(("http://", "https://")) else None
        if kind:
            yield path, f"a URL with {kind}"
        elif looks_like_secret(obj):
            yield path, "what looks like an API key or token"
