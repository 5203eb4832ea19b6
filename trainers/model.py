"""Build the SentenceTransformer to train from a base (any HF encoder or decoder, or a sentence-transformers
model) and a pooler; see trainers/poolers.py for the poolers.

`embedded:all-minilm-l6-v2` is a sentence-tuned encoder; `embedded:smollm2-135m-instruct` is a raw LM that
was never sentence-tuned (mean pooling over its last hidden states): the base for train-from-scratch runs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from torch import nn

from trainers.poolers import PoolerName, pooling_modules

log = logging.getLogger(__name__)


def resolve_base(name: str) -> str:
    """`embedded:<llm or encoder>` -> local directory; hub ids and paths unchanged."""
    from synth.embedded import EMBEDDED_PREFIX, LLMS, resolve_encoder, resolve_llm

    if name.startswith(EMBEDDED_PREFIX) and name[len(EMBEDDED_PREFIX) :] in LLMS:
        return resolve_llm(name)
    return resolve_encoder(name)


class _BranchDropout:
    """Forward hook: dropout on a sub-layer's output (a tensor, or the first item of a tuple), train mode only."""

    def __init__(self, p: float) -> None:
        self.p = p

    def __call__(self, module: nn.Module, args: Any, out: Any) -> Any:
        if not module.training or self.p == 0:
            return None
        if isinstance(out, tuple):
            return (nn.functional.dropout(out[0], self.p, True), *out[1:])
        return nn.functional.dropout(out, self.p, True)


BRANCHES = ("self_attn", "mlp")  # Llama / Mistral / Qwen / Gemma decoder blocks


def add_branch_dropout(model: Any, p: float) -> int:
    """Dropout on every block's attention and MLP outputs, before the residual add: BERT's hidden dropout.

    Decoders such as SmolLM2/Llama have no hidden dropout, only attention-probability dropout, which alone is a
    much weaker noise than the one unsupervised SimCSE was designed around (BERT: hidden 0.1 + attention 0.1).
    Hooks act in train mode only and are not saved: a reloaded model encodes exactly as the trained one.
    """
    n = 0
    for block in model.modules():
        for name in BRANCHES:
            branch = getattr(block, name, None)
            if not isinstance(branch, nn.Module):
                continue
            hook = getattr(branch, "_csynth_dropout", None)
            if hook is None:
                hook = _BranchDropout(p)
                branch.register_forward_hook(hook)
                branch._csynth_dropout = hook
            hook.p = p
            n += 1
    return n


def set_dropout(model: Any, p: float) -> int:
    """Set every dropout of the encoder to p: nn.Dropout modules and attention-dropout attributes; on a model
    with no nn.Dropout at all (SmolLM2/Llama), also dropout on each block's attention/MLP output
    (`add_branch_dropout`). Unsupervised SimCSE needs that noise. Returns the number of places set.
    """
    n = 0
    has_hidden = False
    for mod in model.modules():
        if isinstance(mod, nn.Dropout):
            mod.p = p
            n += 1
            has_hidden = True
        elif isinstance(getattr(mod, "attention_dropout", None), float):
            mod.attention_dropout = p
            n += 1
    for m in model.modules():
        cfg = getattr(m, "config", None)
        if cfg is not None and hasattr(cfg, "attention_dropout"):
            cfg.attention_dropout = p
    if not has_hidden:
        n += add_branch_dropout(model, p)
    return n


def truncate_layers(model: Any, n: int) -> int:
    """Keep the first n transformer blocks of the base (config updated, so the saved model reloads as is).

    A CPU budget device for decoder bases: fewer layers, same raw (never sentence-tuned) weights; intermediate
    layers of decoder LMs are often better sentence encoders than the last one.
    """
    hf = model[0].auto_model
    total = hf.config.num_hidden_layers
    if not 1 <= n <= total:
        raise ValueError(f"base_layers={n}: the base has {total} layers")
    for mod in hf.modules():
        for attr in ("layers", "layer"):
            blocks = getattr(mod, attr, None)
            if isinstance(blocks, nn.ModuleList) and len(blocks) == total:
                setattr(mod, attr, blocks[:n])
                hf.config.num_hidden_layers = n
                if isinstance(getattr(hf.config, "layer_types", None), list):
                    hf.config.layer_types = hf.config.layer_types[:n]
                return total
    raise ValueError(f"base_layers: no list of {total} transformer blocks found in {type(hf).__name__}")


def build_model(
    base: str,
    pooler: PoolerName = "keep",
    max_seq_length: int | None = None,
    encoder_dropout: float | None = None,
    device: str | None = None,
    base_layers: int | None = None,
) -> Any:
    """max_seq_length None keeps a sentence-transformers base's own limit (128 for a raw base); device None: CUDA
    when available (sentence-transformers picks), else CPU."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Transformer

    path = resolve_base(base)
    is_st = (Path(path) / "modules.json").exists()
    if pooler == "keep" and is_st:
        model = SentenceTransformer(path, device=device)
    else:
        if pooler == "keep":
            log.info("%s is not a sentence-transformers model: mean pooling", base)
        # plain text in, token embeddings out: without this, sentence-transformers 6 renders each sentence through
        # an instruct base's chat template (system prompt + turn markers), which crowds out the sentence itself
        word = Transformer(
            path,
            max_seq_length=max_seq_length or 128,
            module_output_name="token_embeddings",
            modality_config={"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
        )
        tok = word.tokenizer
        if getattr(tok, "pad_token", None) is None and getattr(tok, "eos_token", None) is not None:
            tok.pad_token = tok.eos_token  # decoder LMs (Llama/SmolLM2) may lack a pad token
        dim = (
            word.get_embedding_dimension()
            if hasattr(word, "get_embedding_dimension")
            else word.get_word_embedding_dimension()
        )
        model = SentenceTransformer(modules=[word, *pooling_modules(pooler, dim)], device=device)
    if max_seq_length is not None:
        model.max_seq_length = max_seq_length
    if base_layers is not None:
        total = truncate_layers(model, base_layers)
        log.info("base truncated to its first %d of %d layers", base_layers, total)
    if encoder_dropout is not None:
        n = set_dropout(model, encoder_dropout)
        log.info("encoder dropout set to %.2f on %d modules", encoder_dropout, n)
    return model
