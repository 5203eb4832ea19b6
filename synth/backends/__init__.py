"""Backend registry: a recipe names a backend; `get_backend(spec)` builds it once per process."""

from __future__ import annotations

import threading
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

from synth.backends.base import Backend, BackendError, Completion, Request, Sample, Sampling
from synth.embedded import DEFAULT_LLM
from synth.registry import Registry


class BackendSpec(BaseModel):
    """Common settings; each backend adds its own fields. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    model: str = DEFAULT_LLM


class TransformersSpec(BackendSpec):
    backend: Literal["transformers"] = "transformers"
    batch_size: int = Field(16, ge=1)
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    device: str = "cpu"
    max_prompt_tokens: int = Field(1024, ge=16)


def _make_transformers(spec: TransformersSpec) -> Backend:
    from synth.backends.transformers_backend import TransformersBackend

    return TransformersBackend(
        spec.model,
        batch_size=spec.batch_size,
        dtype=spec.dtype,
        device=spec.device,
        max_prompt_tokens=spec.max_prompt_tokens,
    )


BACKENDS = Registry("backend", key="backend")
BACKENDS.register("transformers", TransformersSpec, _make_transformers)


def register_backend(name: str, spec_cls: type[BackendSpec], factory: Callable[[Any], Backend] | str) -> None:
    BACKENDS.register(name, spec_cls, factory)


def _register_builtin() -> None:
    """Backends whose heavy imports happen lazily inside their factories."""
    try:
        from synth.backends import vllm_backend  # noqa: F401  (registers "vllm")
    except ImportError:
        pass
    try:
        from synth.backends import openai_backend  # noqa: F401  (registers "openai")
    except ImportError:
        pass


_register_builtin()


def backend_spec_type() -> Any:
    """The pydantic type a recipe uses for `[generator]`: a union discriminated by `backend`."""
    return BACKENDS.spec_type()


_CACHE: dict[str, Backend] = {}
_LOCK = threading.Lock()


def get_backend(spec: BackendSpec) -> Backend:
    """One backend instance per (process, spec): engines and weights load once."""
    key = spec.model_dump_json()
    with _LOCK:
        if key not in _CACHE:
            _, factory = BACKENDS[spec.backend]  # type: ignore[attr-defined]
            _CACHE[key] = factory(spec)
        return _CACHE[key]


def close_backends() -> None:
    with _LOCK:
        for b in _CACHE.values():
            b.close()
        _CACHE.clear()


def holds_accelerator(backend: Backend) -> bool:
    """A backend whose weights or KV cache sit on a GPU: vLLM off CPU, transformers on a CUDA device."""
    if getattr(backend, "name", "") == "vllm":
        return not getattr(backend, "on_cpu", False)
    return str(getattr(backend, "device", "cpu")).startswith("cuda")


def release_accelerator_backends() -> list[str]:
    """Shut down and forget the cached backends that hold GPU memory (before training on the same GPU in one
    process: `synth run`); CPU backends stay cached. Returns the released backends' names."""
    with _LOCK:
        gone = [k for k, b in _CACHE.items() if holds_accelerator(b)]
        names = []
        for k in gone:
            b = _CACHE.pop(k)
            b.close()
            names.append(getattr(b, "name", type(b).__name__))
    if gone:
        import gc

        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover - torch is a dependency
            pass
    return names


__all__ = [
    "Backend",
    "BackendError",
    "BackendSpec",
    "Completion",
    "Request",
    "Sample",
    "Sampling",
    "TransformersSpec",
    "BACKENDS",
    "register_backend",
    "backend_spec_type",
    "get_backend",
    "close_backends",
    "release_accelerator_backends",
]
