"""Real training runs on the packaged MiniLM: every objective takes a step, the pooler survives save/load,
frozen reference/teacher encoders are not saved, and the best STS-B dev checkpoint is restored."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import trainers.train as train_mod
from pipelines.schema import rows_to_table
from trainers.losses import LOSSES
from trainers.train import TrainSpec, train

WORDS = ["dog", "cat", "man", "woman", "child", "car", "bird", "horse"]


def write_dataset(root: Path) -> Path:
    import pyarrow.parquet as pq

    rows = []
    for i, w in enumerate(WORDS):
        base = {"anchor_id": f"a{i}", "anchor": f"A {w} is running in the park.", "kept": True}
        rows.append(
            {
                **base,
                "id": f"p{i}",
                "task": "pairs",
                "positive": f"The {w} runs outside.",
                "negative": f"The {w} is asleep indoors.",
                "positive_score": 4.0 + i % 2,
                "negative_score": 1.0,
                "text_b": f"Something about {w}s.",
                "pair_score": 2.0,
            }
        )
        rows.append(
            {
                **base,
                "id": f"r{i}",
                "task": "ranked",
                "ranked": [
                    f"A {w} runs in the park.",
                    f"A {w} is in a park.",
                    "An animal is outside.",
                    "Something happens.",
                ],
            }
        )
    (root / "data").mkdir(parents=True)
    pq.write_table(rows_to_table(rows), root / "data" / "part-0.parquet")
    return root


class Counted(nn.Module):
    calls: dict[str, int] = {}

    def __init__(self, inner: nn.Module, name: str) -> None:
        super().__init__()
        self.inner, self.name, self.model = inner, name, inner.model

    def forward(self, features, labels):
        Counted.calls[self.name] = Counted.calls.get(self.name, 0) + 1
        loss = self.inner(features, labels)
        assert torch.isfinite(loss)
        return loss


@pytest.mark.slow
def test_all_objectives_train_together(tmp_path, monkeypatch):
    real_build = train_mod.build_loss
    monkeypatch.setattr(train_mod, "build_loss", lambda model, spec: Counted(real_build(model, spec), spec.name))
    objectives = [{"name": n} for n in LOSSES if n not in ("listmle", "infonce")]
    objectives += [
        {"name": "infonce", "hard_negative_weight": 0.5},
        {"name": "listmle", "list_size": 4, "teacher": "embedded:all-minilm-l6-v2", "weight": 0.5},
    ]
    spec = TrainSpec(
        base_model="embedded:all-minilm-l6-v2",
        pooler="cls_mlp_train",
        objectives=objectives,
        batch_size=4,
        max_seq_length=24,
        max_steps=len(objectives),
        multi_dataset_sampler="round_robin",
        eval_steps=len(objectives) - 2,
        dev_max_pairs=40,
        learning_rate=1e-4,
    )
    out = tmp_path / "model"
    res = train(write_dataset(tmp_path / "dataset"), spec, out)
    assert set(Counted.calls) == set(LOSSES), Counted.calls  # every objective took at least one step
    assert res.steps == len(objectives) and res.loss is not None and np.isfinite(res.loss)
    assert res.dev_best is not None and res.best_step is not None
    from trainers.evaluate import load_encoder, spearman_cosine
    from trainers.sts_data import load_stsb, spread

    saved = load_encoder(str(out))
    # the saved model is the best dev checkpoint: its dev score is the best one seen during training
    assert spearman_cosine(saved, spread(load_stsb("dev"), 40)) == pytest.approx(res.dev_best, abs=0.05)
    assert res.rows_per_objective["simcse_unsup"] == len(WORDS)

    modules = [m["type"] for m in json.loads((out / "modules.json").read_text())]
    assert not any("TrainOnlyMLP" in t for t in modules), modules  # the train-only MLP is not saved
    assert not (out / "_checkpoints").exists()
    weights = list(out.rglob("*.safetensors")) + list(out.rglob("*.bin"))
    assert len(weights) == 1  # only the trained transformer: no frozen reference/teacher copies
    from safetensors import safe_open

    with safe_open(str(weights[0]), "pt") as f:
        n_params = sum(
            f.get_slice(k).get_shape().numel()
            if hasattr(f.get_slice(k).get_shape(), "numel")
            else int(np.prod(f.get_slice(k).get_shape()))
            for k in f.keys()
        )
    assert n_params < 25_000_000  # one MiniLM (22.7M), not two or three


@pytest.mark.slow
def test_pooler_round_trip(tmp_path):
    from sentence_transformers import SentenceTransformer

    from trainers.model import build_model
    from trainers.poolers import TrainOnlyMLP, strip_train_only

    texts = ["A man is playing a guitar.", "Two dogs run."]
    for pooler in ("cls", "mean", "cls_mlp", "cls_mlp_train"):
        model = build_model("embedded:all-minilm-l6-v2", pooler, 32)
        model.eval()
        before = model.encode(texts, convert_to_numpy=True)
        model.save(str(tmp_path / pooler))  # a checkpoint: keeps every module, TrainOnlyMLP included
        # a checkpoint with the train-only MLP names a module outside sentence_transformers (ours): trust it
        loaded = SentenceTransformer(str(tmp_path / pooler), device="cpu", trust_remote_code=pooler == "cls_mlp_train")
        assert [type(m).__name__ for m in loaded] == [type(m).__name__ for m in model]
        assert np.allclose(before, loaded.encode(texts, convert_to_numpy=True), atol=1e-5), pooler
        if pooler == "cls_mlp_train":
            mlp = next(m for m in loaded if isinstance(m, TrainOnlyMLP))
            assert torch.equal(mlp.dense.weight, next(m for m in model if isinstance(m, TrainOnlyMLP)).dense.weight)
            model.train()
            with torch.no_grad():
                feats = model.tokenize(texts)
                trained_view = model(feats)["sentence_embedding"]
                model.eval()
                eval_view = model(feats)["sentence_embedding"]
            assert not torch.allclose(trained_view, eval_view)  # MLP active in training only
            final = strip_train_only(model)
            final.save(str(tmp_path / "final"))
            reloaded = SentenceTransformer(str(tmp_path / "final"), device="cpu")
            assert [type(m).__name__ for m in reloaded] == ["Transformer", "Pooling"]
            assert np.allclose(before, reloaded.encode(texts, convert_to_numpy=True), atol=1e-5)


@pytest.mark.slow
def test_raw_decoder_base_as_encoder():
    """The train-from-scratch base: SmolLM2-135M read with mean pooling; dropout settable for unsup SimCSE."""
    from trainers.model import build_model

    model = build_model("embedded:smollm2-135m-instruct", "mean", 16, encoder_dropout=0.1, base_layers=4)
    assert [type(m).__name__ for m in model] == ["Transformer", "Pooling"]
    assert len(model[0].auto_model.layers) == model[0].auto_model.config.num_hidden_layers == 4
    emb = model.encode(["A dog runs in the park.", "Stocks fell sharply today."], convert_to_numpy=True)
    assert emb.shape == (2, 576) and np.isfinite(emb).all()
    attn = [m for m in model.modules() if isinstance(getattr(m, "attention_dropout", None), float)]
    assert attn and all(m.attention_dropout == 0.1 for m in attn)
    layers = model[0].auto_model.layers  # hidden dropout on each block's attention and MLP outputs (BERT-like)
    assert all(b.self_attn._csynth_dropout.p == b.mlp._csynth_dropout.p == 0.1 for b in layers)
    model.train()
    feats = model.tokenize(["A dog runs in the park."])
    with torch.no_grad():
        a, b = model(dict(feats))["sentence_embedding"], model(dict(feats))["sentence_embedding"]
    assert not torch.allclose(a, b)  # two dropout masks: unsupervised SimCSE's positive pair differs
    # the sentence itself is the input, not a chat prompt around it: sentence-transformers 6 would wrap a raw
    # instruct base in its chat template (30 tokens for "A dog runs.", 25 of them a fixed system prompt)
    ids = model.tokenize(["A dog runs."])["input_ids"][0].tolist()
    assert model[0].tokenizer.decode(ids) == "A dog runs." and len(ids) <= 6
