"""One registry shape for everything a recipe picks by name: backends, tasks, filters, executors and losses.

An entry is a name, its pydantic settings model (`spec`, None where the settings are shared) and what the
name builds (`impl`: a class, a factory, an object, or a `"module:attr"` string imported on first use, so a
heavy engine loads only when a recipe asks for it). Registries are plain mappings, `registry[name]` is
`(spec, impl)`, and each keeps a `version` that changes with every registration, so the recipe model is
rebuilt with the new names (flows/recipe.py::recipe_model).

Third-party packages register through the entry-point group `contrastive_synth.plugins`: each entry point
names a module (imported, its module-level `register` calls take effect) or a callable (called once). A user's
own task, filter or loss then works from a recipe without editing this repository:

    [project.entry-points."contrastive_synth.plugins"]
    my_tasks = "my_package.tasks"          # calls TASKS.register("echo", EchoSpec, EchoTask) at import
"""

from __future__ import annotations

import importlib
import logging
import threading
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Annotated, Any, Iterator, Mapping, Union

from pydantic import BaseModel, Field

log = logging.getLogger(__name__)
PLUGIN_GROUP = "contrastive_synth.plugins"


@dataclass(frozen=True)
class Entry:
    spec: type[BaseModel] | None
    impl: Any  # an object, or "module:attr" imported on first use


def resolve(ref: Any) -> Any:
    """`"module:attr"` -> the attribute; anything else as is."""
    if isinstance(ref, str) and ":" in ref:
        module, _, attr = ref.partition(":")
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj
    return ref


class Registry(Mapping[str, tuple]):
    """name -> (spec, impl); `kind` names the registry in errors, `key` is the field recipes discriminate on."""

    def __init__(self, kind: str, key: str = "name"):
        self.kind, self.key = kind, key
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()
        self.version = 0

    def register(self, name: str, spec: type[BaseModel] | None, impl: Any) -> None:
        """Add or replace `name`; a spec must accept `name` in its discriminator field."""
        with self._lock:
            self._entries[name] = Entry(spec, impl)
            self.version += 1

    def __setitem__(self, name: str, value: tuple) -> None:  # tests patch entries with monkeypatch.setitem
        self.register(name, *value)

    def __delitem__(self, name: str) -> None:
        with self._lock:
            del self._entries[name]
            self.version += 1

    def __getitem__(self, name: str) -> tuple:
        try:
            entry = self._entries[name]
        except KeyError:
            raise KeyError(f"no {self.kind} named {name!r}; registered: {', '.join(sorted(self._entries))}") from None
        impl = resolve(entry.impl)
        if impl is not entry.impl:  # imported once
            self._entries[name] = Entry(entry.spec, impl)
        return entry.spec, impl

    def impl(self, name: str) -> Any:
        return self[name][1]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def specs(self) -> tuple[type[BaseModel], ...]:
        return tuple(e.spec for e in self._entries.values() if e.spec is not None)

    def spec_type(self) -> Any:
        """The pydantic type of one recipe entry: the specs' union, discriminated by `key`."""
        specs = self.specs()
        if len(specs) == 1:
            return specs[0]
        return Annotated[Union[specs], Field(discriminator=self.key)]  # type: ignore[valid-type]


_PLUGINS_LOADED: set[str] = set()


def load_plugins(group: str = PLUGIN_GROUP) -> list[str]:
    """Import (or call) every entry point of `group` once per process; returns the names loaded now.

    A plugin that fails to import is an error naming it: a recipe that needs it would fail later anyway,
    with a less useful message."""
    loaded = []
    for ep in entry_points(group=group):
        if ep.name in _PLUGINS_LOADED:
            continue
        try:
            obj = ep.load()
            if callable(obj) and not isinstance(obj, type):
                obj()
        except Exception as e:  # noqa: BLE001 - re-raised with the plugin's name
            raise ImportError(f"plugin {ep.name!r} ({ep.value}, entry-point group {group}) failed to load: {e}") from e
        _PLUGINS_LOADED.add(ep.name)
        loaded.append(ep.name)
        log.info("plugin %s loaded from %s", ep.name, ep.value)
    return loaded
