"""Poolers of SimCSE as sentence-transformers modules: cls, mean, cls + MLP, cls + train-only MLP.

| pooler | modules after the transformer | at inference |
|---|---|---|
| keep | the base's own (a sentence-transformers model), else mean | unchanged |
| cls | Pooling(cls) | CLS vector (SimCSE `cls_before_pooler`) |
| mean | Pooling(mean) | masked mean (SimCSE `avg`) |
| cls_mlp | Pooling(cls) + Dense(tanh) | MLP kept (SimCSE supervised `cls`) |
| cls_mlp_train | Pooling(cls) + TrainOnlyMLP | MLP used in training only (`--mlp_only_train`), dropped on save |

Every module is saved with the model, so `SentenceTransformer(path)` loads the pooler it was trained with;
`strip_train_only` removes TrainOnlyMLP before the final save.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from sentence_transformers.base.modules.module import Module
from torch import Tensor, nn

PoolerName = Literal["keep", "cls", "mean", "cls_mlp", "cls_mlp_train"]


class TrainOnlyMLP(Module):
    """Linear + tanh over the sentence embedding in train mode; identity in eval mode (SimCSE mlp_only_train)."""

    config_keys: list[str] = ["dimension"]

    def __init__(self, dimension: int) -> None:
        super().__init__()
        self.dimension = dimension
        self.dense = nn.Linear(dimension, dimension)
        self.activation = nn.Tanh()

    def forward(self, features: dict[str, Tensor], **kwargs: Any) -> dict[str, Tensor]:
        if self.training:
            features["sentence_embedding"] = self.activation(self.dense(features["sentence_embedding"]))
        return features

    def get_sentence_embedding_dimension(self) -> int:
        return self.dimension

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        self.save_config(output_path)
        self.save_torch_weights(output_path, safe_serialization=safe_serialization)

    @classmethod
    def load(cls, model_name_or_path: str, subfolder: str = "", **kwargs: Any) -> "TrainOnlyMLP":
        config = cls.load_config(model_name_or_path, subfolder=subfolder)
        module = cls(**config)
        return cls.load_torch_weights(model_name_or_path, subfolder=subfolder, model=module)


def pooling_modules(pooler: PoolerName, dim: int) -> list[torch.nn.Module]:
    from sentence_transformers.sentence_transformer.modules import Dense, Pooling

    if pooler in ("mean", "keep"):
        return [Pooling(dim, pooling_mode="mean")]
    mods: list[torch.nn.Module] = [Pooling(dim, pooling_mode="cls")]
    if pooler == "cls_mlp":
        mods.append(Dense(dim, dim, activation_function=nn.Tanh()))
    elif pooler == "cls_mlp_train":
        mods.append(TrainOnlyMLP(dim))
    return mods


def strip_train_only(model: Any) -> Any:
    """The same SentenceTransformer without its TrainOnlyMLP modules (what is saved and evaluated)."""
    from sentence_transformers import SentenceTransformer

    if not any(isinstance(m, TrainOnlyMLP) for m in model):
        return model
    kept = [m for m in model if not isinstance(m, TrainOnlyMLP)]
    out = SentenceTransformer(modules=kept, device=str(model.device))
    out.max_seq_length = model.max_seq_length
    return out
