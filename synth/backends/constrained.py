"""Constrained decoding for the transformers backend: JSON schema, choice and regex enforced token by token.

Library: llguidance (guidance-ai, MIT), one of vLLM's structured-output backends, so a `Structured` request
means the same on the embedded default as on vLLM. Chosen because it installs offline as one 8 MB abi3 wheel
with no dependencies and works with any fast Hugging Face tokenizer, whereas xgrammar pulls triton (~1 GB) and
apache-tvm-ffi into a CPU install and lm-format-enforcer computes masks in Python (overhead: docs/benchmarks.md).

For each generated sequence a matcher follows the tokens chosen so far and yields the bitmask of allowed next
tokens; the mask is applied to the logits *before* temperature and top-p (HF appends custom processors after
its own warpers, so this module passes the warpers itself, in order). A sequence whose grammar is complete may
only end. Output that still fails to parse (length cut-off) stays a recorded rejection in the task.
"""

from __future__ import annotations

import re
import time
from functools import lru_cache
from typing import Any, Sequence

import torch
from transformers import LogitsProcessor, LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

from synth.backends.base import BackendError, Request, Sampling, Structured


def grammar(structured: Structured) -> str:
    """`Structured` -> an llguidance grammar string (compact JSON: no free whitespace, as on vLLM)."""
    from llguidance import LLMatcher

    if structured.kind == "json":
        return LLMatcher.grammar_from_json_schema(structured.spec, defaults={"whitespace_flexible": False})
    if structured.kind == "choice":
        return LLMatcher.grammar_from_regex("|".join(re.escape(str(c)) for c in structured.spec))
    if structured.kind == "regex":
        return LLMatcher.grammar_from_regex(str(structured.spec))
    raise BackendError(f"unknown structured output kind {structured.kind!r}")


@lru_cache(maxsize=4)
def _ll_tokenizer(tokenizer: Any, n_vocab: int) -> Any:
    import llguidance.hf

    return llguidance.hf.from_tokenizer(tokenizer, n_vocab=n_vocab)  # ~1 s: once per backend


class GrammarMask(LogitsProcessor):
    """Masks each row's logits to the tokens its grammar allows next (rows without a grammar are untouched)."""

    seconds = 0.0  # time spent computing and applying masks, all instances (bench/constrained.py reads it)
    steps = 0

    def __init__(self, ll_tokenizer: Any, grammars: Sequence[str | None], prompt_len: int, vocab: int) -> None:
        from llguidance import LLMatcher

        self.matchers = [LLMatcher(ll_tokenizer, g) if g else None for g in grammars]
        bad = [m.get_error() for m in self.matchers if m is not None and m.is_error()]
        if bad:
            raise BackendError(f"structured output: invalid grammar: {bad[0]}")
        self.prompt_len, self.vocab = prompt_len, vocab
        self.bits = torch.arange(32, dtype=torch.int32)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        from llguidance.torch import allocate_token_bitmask, fill_next_token_bitmask

        t0 = time.perf_counter()
        step = input_ids.shape[1] - self.prompt_len
        rows = [i for i, m in enumerate(self.matchers) if m is not None]
        mask = allocate_token_bitmask(len(self.matchers), self.vocab)
        for i in rows:
            m = self.matchers[i]
            if step > 0 and not m.is_stopped():
                m.consume_token(int(input_ids[i, -1]))
            fill_next_token_bitmask(m, mask, i)
        allowed = ((mask[rows].unsqueeze(-1) >> self.bits) & 1).reshape(len(rows), -1)[:, : scores.shape[1]]
        scores[rows] = scores[rows].masked_fill(allowed == 0, float("-inf"))
        GrammarMask.seconds += time.perf_counter() - t0
        GrammarMask.steps += 1
        return scores


def generate_kwargs(
    tokenizer: Any, vocab: int, reqs: Sequence[Request], s: Sampling, prompt_len: int
) -> dict[str, Any]:
    """Extra `model.generate` kwargs for a batch with structured requests: the mask, then the warpers."""
    try:
        ll_tok = _ll_tokenizer(tokenizer, vocab)
    except ImportError as e:  # a hard dependency; only a broken install gets here
        raise BackendError(
            "structured output on the transformers backend needs llguidance (pip install llguidance)"
        ) from e
    grammars = [grammar(r.structured) if r.structured else None for r in reqs for _ in range(s.n)]
    procs: list[Any] = [GrammarMask(ll_tok, grammars, prompt_len, vocab)]
    if s.temperature > 0:  # warpers after the mask; generate's own become no-ops (temperature 1, top_p 1)
        procs += [TemperatureLogitsWarper(s.temperature), TopPLogitsWarper(s.top_p)]
        return {"logits_processor": LogitsProcessorList(procs), "temperature": 1.0, "top_p": 1.0}
    return {"logits_processor": LogitsProcessorList(procs)}
