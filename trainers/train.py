"""Fine-tune a sentence-transformers model on a curated dataset with the recipe's objectives."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipelines.dataset import read_dataset_rows
from synth.embedded import DEFAULT_ENCODER
from trainers.losses import LOSSES, InfoNCESpec, LossSpec, loss_spec_type

log = logging.getLogger(__name__)


class TrainSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    base_model: str = DEFAULT_ENCODER
    objectives: list[loss_spec_type()] = Field(default_factory=lambda: [InfoNCESpec()])  # type: ignore[valid-type]
    epochs: float = Field(1.0, gt=0)
    batch_size: int = Field(32, ge=2)
    learning_rate: float = Field(2e-5, gt=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    max_seq_length: int = Field(64, ge=8)
    seed: int = 42
    max_steps: int | None = Field(None, ge=1, description="cap on optimizer steps (quick checks)")


@dataclass
class TrainResult:
    model_dir: Path
    train_rows: int
    steps: int
    seconds: float
    loss: float | None


def training_columns(rows: list[dict[str, Any]], spec: LossSpec) -> dict[str, list[Any]]:
    """The dataset columns a loss consumes, from kept rows that have all of them."""
    cols = LOSSES[spec.name].columns(spec)
    usable = [r for r in rows if all(r.get(c) is not None for c in cols)]
    return {c: [r[c] for r in usable] for c in cols}


def train(dataset_dir: Path, spec: TrainSpec, out_dir: Path) -> TrainResult:
    from datasets import Dataset
    from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                       SentenceTransformerTrainingArguments)
    from sentence_transformers.training_args import BatchSamplers

    from synth.embedded import resolve_encoder

    t0 = time.perf_counter()
    rows = read_dataset_rows(Path(dataset_dir))
    model = SentenceTransformer(resolve_encoder(spec.base_model), device="cpu")
    model.max_seq_length = spec.max_seq_length
    train_sets, losses = {}, {}
    for obj in spec.objectives:
        data = training_columns(rows, obj)
        n = len(next(iter(data.values()))) if data else 0
        if n < 2:
            raise ValueError(f"objective {obj.name}: only {n} usable rows in {dataset_dir}; need at least 2")
        train_sets[obj.name] = Dataset.from_dict(data)
        losses[obj.name] = LOSSES[obj.name].build(model, obj)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out_dir / "_checkpoints"), num_train_epochs=spec.epochs,
        per_device_train_batch_size=spec.batch_size, learning_rate=spec.learning_rate,
        warmup_ratio=spec.warmup_ratio, seed=spec.seed, max_steps=spec.max_steps or -1,
        batch_sampler=BatchSamplers.NO_DUPLICATES, save_strategy="no", report_to=[], logging_steps=5,
        use_cpu=True, dataloader_num_workers=0, disable_tqdm=False,
    )
    single = len(train_sets) == 1
    trainer = SentenceTransformerTrainer(
        model=model, args=args,
        train_dataset=next(iter(train_sets.values())) if single else train_sets,
        loss=next(iter(losses.values())) if single else losses,
    )
    out = trainer.train()
    model.save(str(out_dir))
    n_rows = sum(len(d) for d in train_sets.values())
    return TrainResult(model_dir=out_dir, train_rows=n_rows, steps=out.global_step,
                       seconds=time.perf_counter() - t0, loss=out.training_loss)
