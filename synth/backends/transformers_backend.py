"""The embedded CPU default: Hugging Face transformers `generate` over padded batches.

Requests are grouped by sampling settings, sorted by prompt length (less padding) and run in batches of
`batch_size`. transformers samples a batch from one RNG, so each batch is seeded from its requests'
seeds: a rerun of the same shard reproduces the same text. Message contents are tokenized as plain text (a
`<|im_end|>` in corpus text is not a control token), and a prompt over `max_prompt_tokens` is not cut: its
request comes back as a `prompt_too_long` rejection with its token count.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import Sequence

from synth.backends.base import Completion, Message, Request, Sample, Sampling, failed
from synth.backends.prompt_tokens import chat_prompt_ids, render_chat, render_plain  # noqa: F401 (re-exported)
from synth.embedded import model_hash, resolve_llm

log = logging.getLogger(__name__)


def truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class TransformersBackend:
    name = "transformers"
    supports_guidance = True  # HF generate's guidance_scale + negative_prompt_ids (checked batched == one by one)

    def __init__(
        self,
        model: str,
        batch_size: int = 16,
        dtype: str = "float32",
        device: str = "cpu",
        max_prompt_tokens: int = 1024,
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_id = model
        self.model_hash = model_hash(model)
        path = resolve_llm(model)
        self.batch_size = batch_size
        self.device = device
        self.max_prompt_tokens = max_prompt_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype)).to(device).eval()
        self.tokens_generated = 0
        self.seconds_generating = 0.0

    # -- prompt rendering -------------------------------------------------------------------
    def render(self, messages: Sequence[Message]) -> str:
        return render_chat(self.tokenizer, messages)

    def prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        """Token ids of the rendered prompt; message contents can never become control tokens."""
        return chat_prompt_ids(self.tokenizer, messages)

    def _pad(self, ids: list[list[int]]):
        return self.tokenizer.pad({"input_ids": ids}, padding=True, return_tensors="pt").to(self.device)

    def too_long(self, n_tokens: int) -> str | None:
        if n_tokens <= self.max_prompt_tokens:
            return None
        return f"prompt_too_long@{n_tokens} tokens > max_prompt_tokens {self.max_prompt_tokens}"

    # -- generation -------------------------------------------------------------------------
    def generate(self, requests: Sequence[Request]) -> list[Completion]:
        out: list[Completion | None] = [None] * len(requests)
        groups: dict[tuple, list[int]] = defaultdict(list)
        ids: dict[int, list[int]] = {}
        for i, r in enumerate(requests):
            ids[i] = self.prompt_ids(r.messages)
            longest = max(len(ids[i]), len(self.prompt_ids(r.guidance.negative)) if r.guidance else 0)
            if self.too_long(longest):  # never cut a prompt silently: the record is rejected with its length
                out[i] = failed(self.too_long(longest) or "")
                continue
            s = r.sampling
            key = (
                s.max_tokens,
                s.temperature,
                s.top_p,
                s.n,
                s.stop,
                s.logprobs,
                r.guidance.scale if r.guidance else None,
            )
            groups[key].append(i)
        for idx in groups.values():
            idx.sort(key=lambda i: len(self.render(requests[i].messages)))  # the batching shards were made with
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start : start + self.batch_size]
                for i, comp in zip(chunk, self._generate_batch([requests[i] for i in chunk], [ids[i] for i in chunk])):
                    out[i] = comp
        return [c for c in out if c is not None]

    def _generate_batch(self, reqs: list[Request], prompts: list[list[int]]) -> list[Completion]:
        import torch

        s: Sampling = reqs[0].sampling
        enc = self._pad(prompts)
        torch.manual_seed(hash(tuple(r.sampling.seed for r in reqs)) % (2**31))
        kwargs = dict(
            max_new_tokens=s.max_tokens,
            num_return_sequences=s.n,
            pad_token_id=self.tokenizer.pad_token_id,
            return_dict_in_generate=True,
            output_logits=s.logprobs is not None,
        )
        if s.temperature > 0:
            kwargs.update(do_sample=True, temperature=s.temperature, top_p=s.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if s.stop:
            kwargs.update(stop_strings=list(s.stop), tokenizer=self.tokenizer)
        if any(r.structured for r in reqs):  # JSON schema / choice / regex masks (synth/backends/constrained.py)
            from synth.backends.constrained import generate_kwargs

            kwargs.update(
                generate_kwargs(self.tokenizer, self.model.config.vocab_size, reqs, s, enc["input_ids"].shape[1])
            )
        if reqs[0].guidance is not None:
            neg = self._pad([self.prompt_ids(r.guidance.negative) for r in reqs])
            kwargs.update(
                guidance_scale=reqs[0].guidance.scale,
                negative_prompt_ids=neg["input_ids"],
                negative_prompt_attention_mask=neg["attention_mask"],
            )
        t0 = time.perf_counter()
        with torch.inference_mode():
            res = self.model.generate(**enc, **kwargs)
        elapsed = time.perf_counter() - t0
        new = res.sequences[:, enc["input_ids"].shape[1] :]
        completions: list[Completion] = []
        batch_tokens = 0
        for b in range(len(reqs)):
            samples = []
            for k in range(s.n):
                row = b * s.n + k
                ids = new[row].tolist()
                n_tok = len(ids)
                finish = "length"
                eos = self.tokenizer.eos_token_id
                pad = self.tokenizer.pad_token_id
                for j, t in enumerate(ids):
                    if t == eos or (t == pad and pad != eos):
                        n_tok, finish = j, "stop"
                        break
                text = self.tokenizer.decode(ids[:n_tok], skip_special_tokens=True)
                text, stopped = truncate_at_stop(text, s.stop)
                if stopped:
                    finish = "stop"
                top = None
                if s.logprobs is not None:
                    top = []
                    for step in range(min(n_tok if n_tok else 1, len(res.logits))):
                        lp = torch.log_softmax(res.logits[step][row].float(), dim=-1)
                        vals, toks = lp.topk(max(1, s.logprobs))
                        top.append({self.tokenizer.decode([t]): float(v) for v, t in zip(vals, toks)})
                batch_tokens += n_tok
                samples.append(Sample(text=text.strip(), finish_reason=finish, n_tokens=n_tok, top_logprobs=top))
            completions.append(Completion(samples=samples))
        self.tokens_generated += batch_tokens
        self.seconds_generating += elapsed
        log.info(
            "generated %d sequences, %d tokens in %.1fs (%.1f tok/s)",
            len(reqs) * s.n,
            batch_tokens,
            elapsed,
            batch_tokens / max(elapsed, 1e-9),
        )
        return completions

    def close(self) -> None:
        self.model = None
