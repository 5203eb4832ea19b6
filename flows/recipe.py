"""A run is one recipe file (TOML or YAML), validated once here by pydantic before any work starts.

A wrong key or value fails with the file, the key path and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

import tomli_w
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.executors import ExecutorSpec  # [executor]: local | ray; the settings live with the executors
from pipelines.filters import FILTERS, filter_spec_type
from pipelines.filters.rules import RulesSpec
from synth.backends import BACKENDS, TransformersSpec, backend_spec_type
from synth.kg.extract import KnowledgeGraphSpec
from synth.registry import load_plugins
from synth.secrets import WHERE_KEYS_BELONG, looks_like_secret, secret_fields
from synth.tasks import TASKS, task_spec_type
from synth.tasks.pairs import PairsSpec
from synth.tasks.scratch import ScratchSpec
from trainers.evaluate import EvalSpec
from trainers.losses import LOSSES, loss_spec_type
from trainers.train import TrainSpec


class RecipeError(ValueError):
    """A recipe that cannot run; the message names the file, the key and the allowed values."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CorpusSpec(Strict):
    path: str = "builtin:snli-premises"
    kind: Literal["text", "nli", "simcse", "columns"] = Field(
        "text", description="text: a sentence per row; nli / simcse / columns: existing pairs (paired_corpus.py)"
    )
    columns: dict[str, str] | None = Field(None, description="kind = columns: role -> column (anchor, positive, ...)")
    text_field: str = "text"
    limit: int | None = Field(None, ge=1)
    skip: int = Field(0, ge=0)
    min_chars: int = Field(10, ge=1)
    max_chars: int = Field(500, ge=10)
    shard_size: int = Field(16, ge=1, description="anchors per shard: the unit of work and of resume")


class SamplingSpec(Strict):
    max_tokens: int = Field(..., ge=1, le=32768, description="always explicit: vLLM's default is 16")
    temperature: float = Field(0.7, ge=0, le=2)
    top_p: float = Field(0.9, gt=0, le=1)
    seed: int | None = Field(None, description="defaults to the recipe seed")


OPTIONAL_SECTIONS = ("train", "evaluate")  # on by default: a run without them says `= false`


class Recipe(Strict):
    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")
    output_dir: str | None = Field(None, description="defaults to data/<name>")
    seed: int = 13
    corpus: CorpusSpec = CorpusSpec()
    scratch: ScratchSpec | None = None  # SynCSE-scratch: when set, the LLM writes the anchors; [corpus] is unused
    generator: backend_spec_type() = TransformersSpec()  # type: ignore[valid-type]
    sampling: SamplingSpec
    tasks: list[task_spec_type()] = Field(default_factory=lambda: [PairsSpec()], min_length=1)  # type: ignore[valid-type]
    filters: list[filter_spec_type()] = Field(default_factory=lambda: [RulesSpec()])  # type: ignore[valid-type]
    executor: ExecutorSpec = ExecutorSpec()
    knowledge_graph: KnowledgeGraphSpec | None = None  # built before generation when set or a task needs it
    train: TrainSpec | None = TrainSpec()
    evaluate: EvalSpec | None = EvalSpec()

    @model_validator(mode="before")
    @classmethod
    def _sections_off(cls, data: Any) -> Any:
        """`train = false` (TOML has no null) switches an optional section off; recipe.toml writes it that way."""
        if isinstance(data, dict) and any(data.get(k) is False for k in OPTIONAL_SECTIONS):
            data = {k: (None if k in OPTIONAL_SECTIONS and v is False else v) for k, v in data.items()}
        return data

    @model_validator(mode="before")
    @classmethod
    def _default_backend(cls, data: Any) -> Any:
        """`[generator]` without `backend` means the embedded default, whatever backends are registered."""
        if isinstance(data, dict) and isinstance(data.get("generator"), dict) and "backend" not in data["generator"]:
            data = {**data, "generator": {"backend": "transformers", **data["generator"]}}
        return data

    @field_validator("name")
    @classmethod
    def _not_a_path(cls, v: str) -> str:
        if set(v) == {"."}:
            raise ValueError(f"name {v!r} would make the run directory data/{v}, outside a folder of its own")
        return v

    @model_validator(mode="after")
    def _unique_tasks(self) -> "Recipe":
        names = [t.name for t in self.tasks]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"each task may appear once in [[tasks]]; repeated: {sorted(dup)}")
        return self

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir or f"data/{self.name}")

    def section_hash(self, *sections: str) -> str:
        """Hash of the named sections: what a stage's output depends on (for shard keys and caching)."""
        data = {s: _jsonable(getattr(self, s)) for s in sections}
        data["seed"] = self.seed
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise RecipeError(f"{path}: recipe file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise RecipeError(
            f"{path}:{line}: not valid UTF-8 (byte {e.object[e.start]:#04x} at offset {e.start})"
        ) from None
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text)
        if path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
            if not isinstance(data, dict):
                raise RecipeError(f"{path}: the top level must be a mapping")
            return data
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        raise RecipeError(f"{path}: not valid {path.suffix[1:].upper()}: {e}") from e
    raise RecipeError(f"{path}: unsupported recipe format {path.suffix!r}; use .toml, .yaml or .yml")


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    cur: Any = data
    i = 0
    while i < len(keys) - 1:
        nxt = cur.setdefault(keys[i], {})
        if nxt is False and i == 0 and keys[0] in OPTIONAL_SECTIONS:  # `train = false`: a key turns it back on
            nxt = cur[keys[i]] = {}
        if isinstance(nxt, list) and i + 2 < len(keys):  # [[array]] of tables: next key selects the entry
            cur, i = _list_item(nxt, keys[i + 1], dotted), i + 2
            continue
        if not isinstance(nxt, dict):
            raise RecipeError(f"override {dotted}: {keys[i]} is not a table")
        cur, i = nxt, i + 1
    cur[keys[-1]] = value


def _list_item(items: list, selector: str, dotted: str) -> dict:
    """`filters.2` (position) or `filters.consistency` (the entry whose name is that) in an array of tables."""
    if selector.isdigit():
        if int(selector) >= len(items):
            raise RecipeError(f"override {dotted}: index {selector} out of range (the list has {len(items)} entries)")
        return items[int(selector)]
    named = [x for x in items if isinstance(x, dict) and x.get("name") == selector]
    if len(named) != 1:
        raise RecipeError(
            f"override {dotted}: no single entry named {selector!r}; names: "
            f"{[x.get('name') for x in items if isinstance(x, dict)]}"
        )
    return named[0]


def parse_override(item: str) -> tuple[str, Any]:
    """`key.path=value`, the value read as TOML when it parses (numbers, booleans, lists), else a string."""
    if "=" not in item:
        raise RecipeError(f"override {item!r} must look like key.path=value")
    key, raw = item.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip(), value


def format_errors(path: Path | str, err: ValidationError) -> str:
    lines = [f"{path}: invalid recipe ({err.error_count()} problem{'s' if err.error_count() > 1 else ''})"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "union_tag_invalid":
            got = e["input"].get("name", e["input"].get("backend")) if isinstance(e["input"], dict) else e["input"]
            msg = f"unknown name {got!r}; allowed: {e['ctx'].get('expected_tags')}"
        elif isinstance(e.get("input"), (str, int, float, bool)) and not looks_like_secret(str(e["input"])):
            msg += f" (got {e['input']!r})"
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def _registered() -> tuple:
    """What the recipe model's unions are built from: the specs registered now, per registry."""
    return tuple(r.specs() for r in (BACKENDS, TASKS, FILTERS, LOSSES))


_BUILT = [_registered()]  # the names registered at import


def recipe_model() -> type[Recipe]:
    """`Recipe` with the names registered now (plugins included): when a registry changed since the model was
    built, its registry-typed fields get the new unions and the model is rebuilt in place, so a plugin's task
    validates and every recipe stays a plain `Recipe` (flow parameters, deployments, equality)."""
    load_plugins()
    now = _registered()
    if now != _BUILT[0]:
        TrainSpec.model_fields["objectives"].annotation = list[loss_spec_type()]  # type: ignore[valid-type]
        TrainSpec.model_rebuild(force=True)
        Recipe.model_fields["generator"].annotation = backend_spec_type()
        Recipe.model_fields["tasks"].annotation = list[task_spec_type()]  # type: ignore[valid-type]
        Recipe.model_fields["filters"].annotation = list[filter_spec_type()]  # type: ignore[valid-type]
        Recipe.model_rebuild(force=True)
        _BUILT[0] = now
    return Recipe


def recipe_from_dict(data: dict[str, Any], source: str = "<recipe>") -> Recipe:
    leaks = [f"{where} holds {what}" for where, what in secret_fields(data)]
    if leaks:  # recipes are echoed and stored (recipe.toml, cards, Prefect): a key must never be one of its values
        raise RecipeError(f"{source}: {'; '.join(leaks)} (not repeated here); {WHERE_KEYS_BELONG}")
    try:
        return recipe_model().model_validate(data)
    except ValidationError as e:
        raise RecipeError(format_errors(source, e)) from None


def load_recipe(path: str | Path, overrides: list[str] | dict[str, Any] | None = None) -> Recipe:
    p = Path(path)
    data = _read(p)
    items = overrides.items() if isinstance(overrides, dict) else [parse_override(o) for o in overrides or []]
    for key, value in items:
        _set(data, key, value)
    return recipe_from_dict(data, str(p))


def recipe_toml(recipe: Recipe) -> str:
    """The validated recipe, every default filled in, for the run dir and the dataset card.

    Written by tomli-w, so `tomllib` reads it back exactly (emoji, quotes, newlines, NaN included)."""
    data = recipe.model_dump(mode="json", exclude_none=True)
    data.update({k: False for k in OPTIONAL_SECTIONS if getattr(recipe, k) is None})
    return to_toml(data)


def to_toml(data: dict[str, Any]) -> str:
    """TOML text that `tomllib.loads` turns back into `data` (the one writer the project uses)."""
    return tomli_w.dumps(data)
