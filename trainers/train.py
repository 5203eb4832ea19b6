"""Fine-tune a sentence-transformers model on a curated dataset with the recipe's objectives.

Each `[[train.objectives]]` names a registered loss (trainers/losses); its rows become one dataset and
several objectives train together (sentence-transformers multi-dataset training: one batch comes from one
dataset, each dataset has its loss). With `eval_steps` set, the model is evaluated on STS-B dev every
`eval_steps` and the best dev checkpoint is restored at the end (SimCSE's `--load_best_model_at_end`).
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipelines.dataset import read_dataset_rows
from synth.embedded import DEFAULT_ENCODER
from trainers.device import Placement, Precision, check_device_name, peak_memory_mib, reset_peak, resolve
from trainers.losses import LOSSES, InfoNCESpec, LossSpec, build_loss, loss_spec_type
from trainers.poolers import PoolerName, strip_train_only

log = logging.getLogger(__name__)


class TrainSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    base_model: str = DEFAULT_ENCODER
    pooler: PoolerName = Field("keep", description="keep | cls | mean | cls_mlp | cls_mlp_train (trainers/poolers.py)")
    objectives: list[loss_spec_type()] = Field(default_factory=lambda: [InfoNCESpec()])  # type: ignore[valid-type]
    epochs: float = Field(1.0, gt=0)
    batch_size: int = Field(32, ge=2)
    learning_rate: float = Field(2e-5, gt=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    max_seq_length: int = Field(64, ge=8)
    seed: int = 42
    max_steps: int | None = Field(None, ge=1, description="cap on optimizer steps (quick checks)")
    encoder_dropout: float | None = Field(
        None, ge=0, lt=1, description="set all encoder dropout (unsup SimCSE on a decoder needs it)"
    )
    base_layers: int | None = Field(None, ge=1, description="keep only the base's first N transformer layers (CPU)")
    eval_steps: int | None = Field(None, ge=1, description="evaluate on STS-B dev every N steps and keep the best")
    dev_max_pairs: int | None = Field(
        None, ge=10, description="select on N STS-B dev pairs spread over the file (all genres)"
    )
    multi_dataset_sampler: Literal["proportional", "round_robin"] = "proportional"
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N (auto: CUDA when available)")
    baseline: Literal["simcse_unsup"] | None = Field(
        None,
        description="also train unsupervised SimCSE on the same base and the dataset's anchor sentences "
        "(model-unsup-simcse/), reported beside the trained model: did the synthetic data beat the label-free arm?",
    )
    precision: Precision = Field("auto", description="auto | fp32 | bf16 | fp16 (auto: bf16/fp16 on GPU, fp32 on CPU)")

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        return check_device_name(v)


@dataclass
class TrainResult:
    model_dir: Path
    train_rows: int
    steps: int
    seconds: float
    loss: float | None
    dev_best: float | None = None  # best STS-B dev Spearman x100 seen during training (with eval_steps)
    best_step: int | None = None
    rows_per_objective: dict[str, int] | None = None
    device: str | None = None  # the torch device training ran on, e.g. cuda:0
    precision: str | None = None
    peak_memory_mib: float | None = None  # CUDA allocator peak on a GPU, process peak RSS on CPU
    world_size: int = 1


def training_columns(rows: list[dict[str, Any]], spec: LossSpec) -> dict[str, list[Any]]:
    """The dataset columns a loss consumes, from the rows it uses."""
    return LOSSES.impl(spec.name).rows_to_columns(rows, spec)


def objective_key(spec: LossSpec, i: int, taken: set[str]) -> str:
    return spec.name if spec.name not in taken else f"{spec.name}-{i}"


def train(dataset_dir: Path, spec: TrainSpec, out_dir: Path) -> TrainResult:
    """Train on the kept rows of a curated dataset directory (dataset/data/*.parquet)."""
    resolve(spec.device, spec.precision)  # a device this machine lacks fails before the data is read
    rows = read_dataset_rows(Path(dataset_dir))
    data = {}
    for i, obj in enumerate(spec.objectives):
        cols = training_columns(rows, obj)
        n = len(next(iter(cols.values()))) if cols else 0
        if n < 2:
            raise ValueError(
                f"objective {obj.name}: only {n} usable rows in {dataset_dir} "
                f"(needs columns {LOSSES.impl(obj.name).columns(obj)}); need at least 2"
            )
        data[objective_key(obj, i, set(data))] = (obj, cols)
    return fit(data, spec, Path(out_dir))


def train_baseline(dataset_dir: Path, spec: TrainSpec, out_dir: Path) -> TrainResult:
    """The label-free reference arm: unsupervised SimCSE with every other setting of `spec` (base, pooler, layers,
    dropout, steps, dev selection) on the distinct anchors of the same dataset (trainers/losses/simcse_unsup.py)."""
    from trainers.losses.simcse_unsup import SimCSEUnsupSpec

    return train(dataset_dir, spec.model_copy(update={"objectives": [SimCSEUnsupSpec()], "baseline": None}), out_dir)


def dev_evaluator(max_pairs: int | None, batch_size: int) -> Any:
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    from trainers.sts_data import load_stsb, spread

    pairs = spread(load_stsb("dev"), max_pairs)
    return EmbeddingSimilarityEvaluator(
        [p.s1 for p in pairs],
        [p.s2 for p in pairs],
        [p.score / 5 for p in pairs],
        batch_size=batch_size,
        name="stsb-dev",
        write_csv=False,
    )


def pin_device(args: Any, place: Placement) -> Any:
    """One GPU per process: without a launcher, transformers takes cuda:0 and wraps the model in DataParallel
    when several GPUs are visible; pin the resolved device instead (several GPUs = torchrun/accelerate launch).
    The current CUDA device is set in `fit` before the arguments exist, so accelerate's state agrees."""
    if place.is_cuda and place.world_size == 1:
        import torch

        args.__dict__["_setup_devices"] = torch.device(place.device)  # the cached_property's slot
        args._n_gpu = 1
    return args


def fit(
    data: dict[str, tuple[LossSpec, dict[str, list]]], spec: TrainSpec, out_dir: Path, model: Any = None
) -> TrainResult:
    """Train `model` (default: built from spec.base_model + spec.pooler) on {key: (objective, columns)}."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.base.training_args import BatchSamplers, MultiDatasetBatchSamplers

    from trainers.model import build_model

    place = resolve(spec.device, spec.precision)
    if place.is_cuda:
        import torch

        torch.cuda.set_device(place.device)  # "cuda" without an index means this GPU from here on
    reset_peak(place.device)
    t0 = time.perf_counter()
    if model is None:
        model = build_model(
            spec.base_model,
            spec.pooler,
            spec.max_seq_length,
            spec.encoder_dropout,
            device=place.device,
            base_layers=spec.base_layers,
        )
    model.to(place.device)
    train_sets = {k: Dataset.from_dict(cols) for k, (_, cols) in data.items()}
    losses = {k: build_loss(model, obj) for k, (obj, _) in data.items()}
    ckpt = out_dir / "_checkpoints"
    select = spec.eval_steps is not None
    evaluator = dev_evaluator(spec.dev_max_pairs, 64) if select else None
    args = pin_device(
        SentenceTransformerTrainingArguments(
            output_dir=str(ckpt),
            num_train_epochs=spec.epochs,
            per_device_train_batch_size=spec.batch_size,
            learning_rate=spec.learning_rate,
            warmup_steps=spec.warmup_ratio,
            seed=spec.seed,
            max_steps=spec.max_steps or -1,
            batch_sampler=BatchSamplers.NO_DUPLICATES,
            multi_dataset_batch_sampler=MultiDatasetBatchSamplers(spec.multi_dataset_sampler),
            report_to=[],
            logging_steps=5,
            use_cpu=not place.is_cuda,
            dataloader_num_workers=0,
            disable_tqdm=False,
            save_strategy="steps" if select else "no",
            save_steps=spec.eval_steps or 500,
            save_total_limit=1,
            eval_strategy="steps" if select else "no",
            eval_steps=spec.eval_steps,
            load_best_model_at_end=select,
            metric_for_best_model="eval_stsb-dev_spearman_cosine" if select else None,
            greater_is_better=True if select else None,
            bf16=place.precision == "bf16",
            fp16=place.precision == "fp16",
        ),
        place,
    )
    single = len(train_sets) == 1
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=next(iter(train_sets.values())) if single else train_sets,
        loss=next(iter(losses.values())) if single else losses,
        evaluator=evaluator,
    )
    out = trainer.train()
    dev_best, best_step = None, None
    if select and trainer.state.best_metric is not None:
        dev_best = float(trainer.state.best_metric) * 100
        best_ckpt = trainer.state.best_model_checkpoint or ""
        best_step = int(best_ckpt.rsplit("-", 1)[-1]) if best_ckpt.rsplit("-", 1)[-1].isdigit() else None
        log.info("best STS-B dev Spearman %.2f at step %s (restored)", dev_best, best_step)
    if trainer.is_world_process_zero():  # under torchrun/accelerate every process holds the same weights
        final = strip_train_only(trainer.model)
        final.save(str(out_dir))
        shutil.rmtree(ckpt, ignore_errors=True)
    counts = {k: len(d) for k, d in train_sets.items()}
    return TrainResult(
        model_dir=out_dir,
        train_rows=sum(counts.values()),
        steps=out.global_step,
        seconds=time.perf_counter() - t0,
        loss=out.training_loss,
        dev_best=dev_best,
        best_step=best_step,
        rows_per_objective=counts,
        device=place.device,
        precision=place.precision,
        peak_memory_mib=peak_memory_mib(place.device),
        world_size=place.world_size,
    )
