"""Device check for a bare CUDA image: torch + transformers + sentence-transformers only (no vLLM, no Prefect, no
hub access, no project imports). Models are built from configs with random weights and a word-level tokenizer
made here, so nothing is downloaded and only this file needs to be carried to the machine.

    python bench/gpu_check.py                 # GPU: BERT-base-sized encoder, 160M-class Llama-shaped decoder
    python bench/gpu_check.py --cpu --tiny    # CI: 2-layer models, a few seconds per row

For each objective (the sentence-transformers losses the project's objectives are built on: InfoNCE with hard
negatives = MNRL, unsupervised SimCSE = MNRL on (x, x) with dropout, CoSENT, AnglE) and each precision (fp32,
bf16) it trains `--steps` steps on a small synthetic set, checks the loss falls (mean of the last 5 steps below
the first 5) and reports steps/s, samples/s and peak memory; then it generates at a large batch with
transformers' `generate` (what the transformers backend calls) and reports tokens/s. One Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from contextlib import nullcontext

import torch

try:  # sentence-transformers >= 6 moved these; older images have the flat modules
    from sentence_transformers.sentence_transformer import losses as st_losses
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
except ImportError:  # pragma: no cover - older sentence-transformers
    from sentence_transformers import losses as st_losses
    from sentence_transformers.models import Pooling, Transformer
from sentence_transformers import SentenceTransformer

WORDS = [f"w{i}" for i in range(2000)]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SIZES = {  # encoder (BERT), decoder (Llama), batch, sequence words, generation batch / prompt / new tokens
    "full": dict(
        hidden=768,
        layers=12,
        heads=12,
        ffn=3072,
        dec_hidden=768,
        dec_layers=12,
        dec_heads=12,
        batch=64,
        words=24,
        gen_batch=128,
        prompt=128,
        new=128,
        lr=5e-5,
    ),
    "tiny": dict(
        hidden=64,
        layers=2,
        heads=2,
        ffn=128,
        dec_hidden=64,
        dec_layers=2,
        dec_heads=2,
        batch=16,
        words=10,
        gen_batch=8,
        prompt=16,
        new=16,
        lr=1e-3,
    ),
}


def tokenizer(path: str):
    """A word-level fast tokenizer over WORDS (no download), saved beside the model so Transformer() loads it."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(SPECIALS + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=512,
    )
    fast.save_pretrained(path)
    return fast


def encoder(size: dict, path: str, device: str) -> SentenceTransformer:
    """Randomly initialised BERT-shaped encoder with mean pooling."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=len(SPECIALS) + len(WORDS),
        hidden_size=size["hidden"],
        num_hidden_layers=size["layers"],
        num_attention_heads=size["heads"],
        intermediate_size=size["ffn"],
        max_position_embeddings=512,
    )
    BertModel(cfg).save_pretrained(path)
    tokenizer(path)
    word = Transformer(path, max_seq_length=size["words"] + 2)
    return SentenceTransformer(modules=[word, Pooling(size["hidden"], "mean")], device=device)


def sentences(n: int, words: int, rng: random.Random) -> list[str]:
    return [" ".join(rng.choices(WORDS, k=words)) for _ in range(n)]


def edit(s: str, k: int, rng: random.Random) -> str:
    w = s.split()
    for i in rng.sample(range(len(w)), k):
        w[i] = rng.choice(WORDS)
    return " ".join(w)


def objective(name: str, model: SentenceTransformer, size: dict, rng: random.Random):
    """(loss, batches): a small fixed set cycled, so a learning model's loss falls within a few dozen steps."""
    b, nw = size["batch"], size["words"]
    pool = sentences(4 * b, nw, rng)
    if name == "infonce":
        loss = st_losses.MultipleNegativesRankingLoss(model, scale=20.0)
        cols = [pool, [edit(s, 2, rng) for s in pool], [edit(s, nw // 2, rng) for s in pool]]
        labels = None
    elif name == "simcse_unsup":
        loss = st_losses.MultipleNegativesRankingLoss(model, scale=20.0)
        cols, labels = [pool, list(pool)], None
    else:
        k = [rng.randint(0, nw) for _ in pool]
        cols = [pool, [edit(s, ki, rng) for s, ki in zip(pool, k)]]
        labels = [1 - ki / nw for ki in k]
        loss = st_losses.CoSENTLoss(model) if name == "cosent" else st_losses.AnglELoss(model)
    batches = []
    for i in range(0, len(pool), b):
        lab = None if labels is None else torch.tensor(labels[i : i + b])
        batches.append(([c[i : i + b] for c in cols], lab))
    return loss, batches


def peak_mib(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)


def reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def train_row(name: str, precision: str, size: dict, steps: int, device: str, tmp: str) -> dict:
    rng = random.Random(13)
    model = encoder(size, os.path.join(tmp, f"enc-{name}-{precision}"), device)
    model.train()
    loss_fn, batches = objective(name, model, size, rng)
    prep = getattr(model, "preprocess", None) or model.tokenize  # sentence-transformers >= 6 / older
    opt = torch.optim.AdamW(model.parameters(), lr=size["lr"])
    autocast = torch.autocast(device.split(":")[0], dtype=torch.bfloat16) if precision == "bf16" else nullcontext()
    reset_peak(device)
    losses, t0 = [], 0.0
    for step in range(steps):
        if step == 1:  # the first step warms kernels and allocator; time the rest
            sync(device)
            t0 = time.perf_counter()
        cols, labels = batches[step % len(batches)]
        feats = [{k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in prep(c).items()} for c in cols]
        with autocast:
            loss = loss_fn(feats, None if labels is None else labels.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    sync(device)
    secs = time.perf_counter() - t0
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    return {
        "row": f"train {name}",
        "precision": precision,
        "steps_per_s": (steps - 1) / secs,
        "samples_per_s": (steps - 1) * size["batch"] / secs,
        "peak_mib": peak_mib(device),
        "loss_first": first,
        "loss_last": last,
        "loss_falls": last < first,
    }


def generate_row(precision: str, size: dict, device: str) -> dict:
    """Llama-shaped decoder from a config; `generate` at a large batch, every sequence to `new` tokens."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=32000,
        hidden_size=size["dec_hidden"],
        num_hidden_layers=size["dec_layers"],
        num_attention_heads=size["dec_heads"],
        num_key_value_heads=size["dec_heads"],
        intermediate_size=4 * size["dec_hidden"],
        max_position_embeddings=2048,
    )
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    model = LlamaForCausalLM(cfg).to(device=device, dtype=dtype).eval()
    ids = torch.randint(10, 32000, (size["gen_batch"], size["prompt"]), device=device)
    kw = dict(
        max_new_tokens=size["new"],
        min_new_tokens=size["new"],
        do_sample=True,
        top_p=0.9,
        temperature=0.7,
        pad_token_id=0,
    )
    with torch.no_grad():
        model.generate(
            ids[:2], attention_mask=torch.ones_like(ids[:2]), **{**kw, "max_new_tokens": 4, "min_new_tokens": 4}
        )  # warm-up
        reset_peak(device)
        sync(device)
        t0 = time.perf_counter()
        out = model.generate(ids, attention_mask=torch.ones_like(ids), **kw)
        sync(device)
    secs = time.perf_counter() - t0
    new = (out.shape[1] - ids.shape[1]) * out.shape[0]
    return {
        "row": f"generate b={size['gen_batch']}",
        "precision": precision,
        "tokens_per_s": new / secs,
        "peak_mib": peak_mib(device),
        "new_tokens": new,
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| row | precision | steps/s | samples/s | tokens/s | peak MiB | loss first -> last | falls |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        f = lambda k, fmt="{:.1f}", r=r: fmt.format(r[k]) if k in r else ""  # noqa: E731
        loss = f"{r['loss_first']:.3f} -> {r['loss_last']:.3f}" if "loss_first" in r else ""
        falls = ("yes" if r["loss_falls"] else "NO") if "loss_falls" in r else ""
        lines.append(
            f"| {r['row']} | {r['precision']} | {f('steps_per_s', '{:.2f}')} | {f('samples_per_s')} | "
            f"{f('tokens_per_s')} | {f('peak_mib', '{:.0f}')} | {loss} | {falls} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpu", action="store_true", help="run on CPU (CI)")
    ap.add_argument("--tiny", action="store_true", help="2-layer models, small batches (CI)")
    ap.add_argument("--steps", type=int, default=None, help="training steps per row (default 40; tiny 20)")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    if not args.cpu and not torch.cuda.is_available():
        print(
            "no CUDA device visible (torch %s, CUDA build %s); pass --cpu to run on CPU"
            % (torch.__version__, torch.version.cuda),
            file=sys.stderr,
        )
        return 2
    device = "cpu" if args.cpu else "cuda:0"
    if args.cpu and args.tiny:  # tiny ops gain nothing from threads; on a shared CI box they oversubscribe (3-10x)
        torch.set_num_threads(1)
    size = SIZES["tiny" if args.tiny else "full"]
    steps = args.steps or (20 if args.tiny else 40)
    precisions = ["fp32", "bf16"]
    if device != "cpu" and not torch.cuda.is_bf16_supported():
        precisions = ["fp32"]
    name = torch.cuda.get_device_name(0) if device != "cpu" else f"CPU ({os.cpu_count()} cores)"
    print(
        f"# gpu_check on {name}: torch {torch.__version__}, {'tiny' if args.tiny else 'full'} models, "
        f"{steps} steps/row",
        flush=True,
    )
    t0 = time.perf_counter()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for obj in ("infonce", "simcse_unsup", "cosent", "angle"):
            for prec in precisions:
                rows.append(train_row(obj, prec, size, steps, device, tmp))
                print(
                    f"  {rows[-1]['row']} {prec}: loss {rows[-1]['loss_first']:.3f} -> {rows[-1]['loss_last']:.3f}",
                    flush=True,
                )
        for prec in precisions:
            rows.append(generate_row(prec, size, device))
    print(table(rows))
    print(f"\ntotal {time.perf_counter() - t0:.0f}s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"device": name, "rows": rows}, fh, indent=2)
    return 0 if all(r.get("loss_falls", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
