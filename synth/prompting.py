"""Prompt pools as data files: load them, sample an instruction and few-shot exemplars with a seeded RNG,
and render SynCSE-style multi-turn chats (instruction, "Alright.", k demonstrations, the query)."""
from __future__ import annotations

import hashlib
import json
import random
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


def _resolve(path: str | Path) -> Path:
    p = Path(path)
    return p if p.is_absolute() or p.exists() else PROMPTS_DIR / p


@lru_cache(maxsize=64)
def load_instructions(path: str) -> tuple[Instruction, ...]:
    rows = json.loads(_resolve(path).read_text(encoding="utf-8"))
    out = tuple(Instruction(id=r["id"], text=r["text"], kind=r.get("kind", "")) for r in rows)
    if not out:
        raise ValueError(f"{path}: empty instruction pool")
    return out


@lru_cache(maxsize=64)
def load_exemplars(path: str) -> tuple[Exemplar, ...]:
    rows = [json.loads(line) for line in _resolve(path).read_text(encoding="utf-8").splitlines() if line.strip()]
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


def sample_prompt(instructions: Sequence[Instruction], exemplars: Sequence[Exemplar], k: int,
                  rng: random.Random) -> tuple[Instruction, list[Exemplar]]:
    """One instruction and k distinct exemplars, as SynCSE does for diversity."""
    inst = rng.choice(list(instructions))
    shots = rng.sample(list(exemplars), min(k, len(exemplars)))
    return inst, shots


def few_shot_chat(instruction: str, shots: Sequence[Exemplar], query: str,
                  system: str | None = None) -> tuple[Message, ...]:
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
