"""Prompt pools as data files: load them, sample an instruction and few-shot exemplars with a seeded RNG,
and render SynCSE-style multi-turn chats (instruction, "Alright.", k demonstrations, the query)."""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from synth.backends.base import Message
from synth.records import content_id

PROMPTS_DIR = Path(__file__).parent / "prompts"

NO_EXPLANATION = "Please do not provide any alternative or reasoning or explanation."


@dataclass(frozen=True)
class Instruction:
    id: str
    text: str
    kind: str = ""  # e.g. "entailment", "contradiction": stored as the record's negative_kind


@dataclass(frozen=True)
class Exemplar:
    id: str
    input: str
    output: str


PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class PromptError(ValueError):
    """A prompt file that cannot be rendered: names the file, the instruction and the variable."""


def placeholders(text: str) -> set[str]:
    """The `{name}` variables an instruction uses."""
    return set(PLACEHOLDER.findall(text))


def check_instructions(path: str, provided: Sequence[str], require_all: bool = False) -> None:
    """Every variable each instruction of the pool uses is one the task provides; raised at recipe time, so
    a typo (`{sentense}`) stops the run before any request instead of reaching the model literally. With
    `require_all` (a template such as mask_fill's fill prompt) each instruction must also use every variable,
    so a template that drops `{masked}` does not send the model a prompt without its input."""
    for inst in load_instructions(path):
        missing = set(provided) - placeholders(inst.text) if require_all else set()
        if missing:
            raise PromptError(
                f"{path}: instruction {inst.id!r} does not use "
                f"{', '.join('{' + m + '}' for m in sorted(missing))}, which this task fills "
                f"and the template needs"
            )
        unknown = placeholders(inst.text) - set(provided)
        if unknown:
            raise PromptError(
                f"{path}: instruction {inst.id!r} uses "
                f"{', '.join('{' + u + '}' for u in sorted(unknown))}"
                f", which this task does not fill (it fills: "
                f"{', '.join('{' + p + '}' for p in provided) or 'nothing'})"
            )


def render(inst: Instruction, **values: object) -> str:
    """The instruction with its `{name}` variables filled; a variable without a value is a PromptError."""
    unknown = placeholders(inst.text) - values.keys()
    if unknown:
        raise PromptError(f"instruction {inst.id!r} uses {', '.join(sorted(unknown))} without a value")
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), inst.text)


def _resolve(path: str | Path) -> Path:
    p = Path(path)
    return p if p.is_absolute() or p.exists() else PROMPTS_DIR / p


def _version(path: str) -> tuple[str, int, int]:
    """Cache key of a prompt file's content: an edited file is read again (a served deployment lives long)."""
    p = _resolve(path)
    st = p.stat()
    return str(p), st.st_mtime_ns, st.st_size


def load_instructions(path: str) -> tuple[Instruction, ...]:
    return _load_instructions(path, *_version(path))


def load_exemplars(path: str) -> tuple[Exemplar, ...]:
    return _load_exemplars(*_version(path))


@lru_cache(maxsize=64)
def _load_instructions(path: str, resolved: str, mtime_ns: int, size: int) -> tuple[Instruction, ...]:
    rows = json.loads(Path(resolved).read_text(encoding="utf-8"))
    out = tuple(Instruction(id=r["id"], text=r["text"], kind=r.get("kind", "")) for r in rows)
    if not out:
        raise ValueError(f"{path}: empty instruction pool")
    return out


@lru_cache(maxsize=64)
def _load_exemplars(resolved: str, mtime_ns: int, size: int) -> tuple[Exemplar, ...]:
    rows = [json.loads(line) for line in Path(resolved).read_text(encoding="utf-8").splitlines() if line.strip()]
    return tuple(Exemplar(id=r["id"], input=r["input"], output=r["output"]) for r in rows)


def prompt_file_digests(spec: dict) -> dict[str, str]:
    """SHA-256 of every prompt or exemplar file a task's settings name (any string value that resolves to a
    file), so a shard key changes when a file's content does, not only when its path does."""
    out: dict[str, str] = {}

    def walk(v: object) -> None:
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, str) and v.endswith((".json", ".jsonl", ".txt", ".j2", ".tmpl")):
            p = _resolve(v)
            if p.is_file():
                out[v] = hashlib.sha256(p.read_bytes()).hexdigest()[:16]

    walk(spec)
    return dict(sorted(out.items()))


def request_seed(run_seed: int, *parts: object) -> int:
    """A per-request seed derived from the run seed and what the request is for (stable across reruns)."""
    return int(content_id(run_seed, *parts), 16) % (2**31 - 1)


def sample_prompt(
    instructions: Sequence[Instruction], exemplars: Sequence[Exemplar], k: int, rng: random.Random
) -> tuple[Instruction, list[Exemplar]]:
    """One instruction and k distinct exemplars, as SynCSE does for diversity."""
    inst = rng.choice(list(instructions))
    shots = rng.sample(list(exemplars), min(k, len(exemplars)))
    return inst, shots


def few_shot_chat(
    instruction: str, shots: Sequence[Exemplar], query: str, system: str | None = None
) -> tuple[Message, ...]:
    msgs: list[Message] = []
    if system:
        msgs.append({"role": "system", "content": system})
    msgs.append({"role": "user", "content": f"{instruction} {NO_EXPLANATION}"})
    msgs.append({"role": "assistant", "content": "Alright."})
    for ex in shots:
        msgs.append({"role": "user", "content": ex.input})
        msgs.append({"role": "assistant", "content": ex.output})
    msgs.append({"role": "user", "content": query})
    return tuple(msgs)
