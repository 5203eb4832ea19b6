"""A tiny real recipe for the slow orchestration tests: real SNLI premises, the embedded SmolLM2, 16 tokens,
no few-shot exemplars (short prompts), no train/evaluate unless a test asks for them."""

from __future__ import annotations

from pathlib import Path

TINY = """
name = "{name}"
seed = 13
output_dir = "{out}"

[corpus]
path = "builtin:snli-premises"
limit = {limit}
shard_size = {shard_size}

[generator]
backend = "transformers"
model = "embedded:smollm2-135m-instruct"
batch_size = 16

[sampling]
max_tokens = 16

[[tasks]]
name = "pairs"
exemplars = 0

[[filters]]
name = "rules"
"""


def write_tiny(
    path: Path, out: Path, *, name: str = "tiny", limit: int = 4, shard_size: int = 1, extra: str = ""
) -> Path:
    path.write_text(
        TINY.format(name=name, out=out.as_posix(), limit=limit, shard_size=shard_size) + extra, encoding="utf-8"
    )
    return path


def write_stub(
    path: Path, out: Path, url: str, *, name: str, corpus: dict | None = None, filters: bool = True, **generator: object
) -> Path:
    """A recipe whose generator is an OpenAI-compatible server at `url` (a fault or stub server of the test):
    pairs with no exemplars, 16 tokens, the rule filters; `generator` adds or overrides the backend's keys."""
    import tomli_w

    recipe = {
        "name": name,
        "output_dir": out.as_posix(),
        "corpus": corpus if corpus is not None else {"limit": 2, "shard_size": 2},
        "generator": {"backend": "openai", "model": "stub-model", "base_url": url, **generator},
        "sampling": {"max_tokens": 16},
        "tasks": [{"name": "pairs", "exemplars": 0}],
    }
    if filters:
        recipe["filters"] = [{"name": "rules"}]
    path.write_text(tomli_w.dumps(recipe), encoding="utf-8")
    return path
