"""Generation and training on one GPU: backends that hold GPU memory are shut down and forgotten before
training, CPU backends stay cached; the vLLM engine settings that matter at scale reach `vllm.LLM`."""

from __future__ import annotations

import synth.backends as sb
from synth.backends import TransformersSpec, get_backend, release_accelerator_backends
from synth.backends.vllm_backend import VllmSpec, engine_kwargs


class GpuEngine:
    """Stands in for an in-process vLLM engine on a GPU (control flow only: no GPU here)."""

    name, on_cpu = "vllm", False

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_release_closes_gpu_engines_and_keeps_cpu_backends(smollm):
    engine = GpuEngine()
    sb._CACHE["gpu-engine"] = engine
    assert release_accelerator_backends() == ["vllm"]
    assert engine.closed and "gpu-engine" not in sb._CACHE
    # the CPU transformers backend is still the cached instance, model loaded
    assert get_backend(TransformersSpec(batch_size=16)) is smollm and smollm.model is not None
    assert release_accelerator_backends() == []


def test_scale_settings_reach_the_engine():
    spec = VllmSpec(
        tensor_parallel_size=4,
        pipeline_parallel_size=2,
        enable_prefix_caching=True,
        max_num_seqs=512,
        max_model_len=4096,
    )
    kw = engine_kwargs(spec, cpu=False)
    assert (kw["tensor_parallel_size"], kw["pipeline_parallel_size"]) == (4, 2)
    assert kw["enable_prefix_caching"] is True and kw["max_num_seqs"] == 512 and kw["max_model_len"] == 4096


def test_one_engine_per_process_reused_across_shards(smollm):
    assert get_backend(TransformersSpec(batch_size=16)) is get_backend(TransformersSpec(batch_size=16)) is smollm
