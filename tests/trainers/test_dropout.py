"""Encoder dropout on a decoder without hidden dropout (Llama/SmolLM2): the noise unsupervised SimCSE needs."""

from __future__ import annotations

import torch
from transformers import LlamaConfig, LlamaModel

from trainers.model import set_dropout


def tiny_llama() -> LlamaModel:
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=64,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=32,
    )
    return LlamaModel(cfg)


def hidden(model: LlamaModel, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids).last_hidden_state


def test_branch_dropout_on_every_attention_and_mlp_output_in_train_mode_only():
    model, ids = tiny_llama(), torch.tensor([[1, 5, 9, 3]])
    assert not any(isinstance(m, torch.nn.Dropout) for m in model.modules())
    n = set_dropout(model, 0.3)
    assert n == 2 + 2 * 2  # two attention_dropout attributes + (self_attn, mlp) hooks in two blocks
    assert all(layer.self_attn.attention_dropout == 0.3 for layer in model.layers)
    model.train()
    assert not torch.allclose(hidden(model, ids), hidden(model, ids))
    model.eval()
    assert torch.equal(hidden(model, ids), hidden(model, ids))


def test_setting_dropout_again_updates_the_hooks_instead_of_stacking_them():
    model, ids = tiny_llama(), torch.tensor([[1, 5, 9, 3]])
    model.eval()
    clean = hidden(model, ids)
    set_dropout(model, 0.5)
    set_dropout(model, 0.0)
    model.train()
    assert torch.allclose(hidden(model, ids), clean, atol=1e-6)  # p = 0: no noise left, no hook stacked at 0.5
    assert sum(len(layer.mlp._forward_hooks) for layer in model.layers) == 2
