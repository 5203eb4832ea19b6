"""vLLM backend pieces that need no engine: sampling parameters, structured outputs, logprob conversion,
the guidance error, and recipe validation; one slow test on the real engine for prompt tokens. The flows run
in tests/flows/test_vllm_flow.py."""

import pytest

pytest.importorskip("vllm")

from vllm.logprobs import Logprob  # noqa: E402

from flows.recipe import RecipeError, recipe_from_dict  # noqa: E402
from synth.backends import BackendError  # noqa: E402
from synth.backends import vllm_backend as vb  # noqa: E402
from synth.backends.base import Guidance, Request, Sampling, Structured, chat_messages  # noqa: E402


def test_sampling_params_carry_every_setting():
    p = vb.sampling_params(Sampling(max_tokens=40, temperature=0.3, top_p=0.8, seed=5, n=3, stop=("\n",), logprobs=2))
    assert (p.max_tokens, p.n, p.temperature, p.top_p, p.stop, p.logprobs) == (40, 3, 0.3, 0.8, ["\n"], 2)
    assert p.seed == 5 * vb.SEED_STRIDE
    # vLLM seeds sample k with seed + k: neighbouring request seeds must not meet
    a, b = vb.vllm_seed(5), vb.vllm_seed(6)
    assert {a + k for k in range(3)}.isdisjoint({b + k for k in range(3)})
    assert vb.sampling_params(Sampling(max_tokens=8)).structured_outputs is None


def test_structured_outputs_params():
    js = vb.structured_params(Structured("json", {"type": "object"}))
    assert js.json == {"type": "object"} and js.disable_any_whitespace
    assert vb.structured_params(Structured("choice", ("1", "2"))).choice == ["1", "2"]
    assert vb.structured_params(Structured("regex", "[0-9]+")).regex == "[0-9]+"


def test_top_logprobs_by_rank_and_text():
    step = {
        7: Logprob(-3.0, rank=4, decoded_token="x"),
        1: Logprob(-0.1, rank=1, decoded_token="A"),
        2: Logprob(-2.0, rank=2, decoded_token="The"),
    }
    assert vb.top_logprobs([step], 2) == [{"A": -0.1, "The": -2.0}]  # the sampled 4th-ranked token dropped


def test_guidance_is_a_clear_error():
    backend = object.__new__(vb.VllmBackend)  # no engine needed: the check comes first
    r = Request(
        chat_messages(("user", "hi")), Sampling(max_tokens=8), guidance=Guidance(negative=chat_messages(("user", "no")))
    )
    with pytest.raises(BackendError, match="guidance.*not supported"):
        backend.generate([r])
    assert vb.VllmBackend.supports_guidance is False


def test_recipe_validates_vllm_generator():
    r = recipe_from_dict(
        {
            "name": "v",
            "sampling": {"max_tokens": 8},
            "generator": {
                "backend": "vllm",
                "dtype": "float32",
                "enforce_eager": True,
                "kv_cache_gib": 1,
                "gpu_memory_utilization": 0.3,
            },
        }
    )
    assert r.generator.backend == "vllm" and r.generator.kv_cache_gib == 1
    with pytest.raises(RecipeError, match="generator.vllm.dtype"):
        recipe_from_dict(
            {"name": "v", "sampling": {"max_tokens": 8}, "generator": {"backend": "vllm", "dtype": "int3"}}
        )


def test_shipped_vllm_recipes_validate():
    from flows.recipe import load_recipe

    assert load_recipe("recipes/vllm-cpu.toml").generator.backend == "vllm"
    r = load_recipe("recipes/openai-server.toml")
    assert r.generator.backend == "openai" and r.tasks[0].output == "json"


def test_serve_command_has_cpu_flags_and_a_working_entry_point():
    from synth.serve import ServeOptions, _vllm_cli_works, example_generator_block, serve_command

    opts = ServeOptions(port=8123, kv_cache_gib=0.5)
    cmd = serve_command(opts)
    assert cmd[cmd.index("--served-model-name") + 1] == "embedded:smollm2-135m-instruct"
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and cmd[cmd.index("--port") + 1] == "8123"
    assert "--enforce-eager" in cmd and cmd[cmd.index("--dtype") + 1] == "float32"
    assert cmd[cmd.index("--kv-cache-memory-bytes") + 1] == str(1 << 29)
    # vllm-cpu installs as "vllm-cpu": its `vllm` CLI cannot find its own version, so the server module is used
    assert ("vllm.entrypoints.cli.main" in cmd) == _vllm_cli_works()
    assert 'base_url = "http://127.0.0.1:8123/v1"' in example_generator_block(opts)


def test_engine_kwargs_from_the_recipe():
    spec = vb.VllmSpec(
        dtype="float32", enforce_eager=True, kv_cache_gib=0.5, max_model_len=1024, tensor_parallel_size=2
    )
    cpu = vb.engine_kwargs(spec, cpu=True)
    assert cpu["dtype"] == "float32" and cpu["enforce_eager"] and cpu["tensor_parallel_size"] == 2
    assert cpu["kv_cache_memory_bytes"] == 1 << 29 and cpu["max_model_len"] == 1024
    # vllm-cpu dies on seeded prompts split across steps: no chunked prefill there, a whole prompt per step
    assert cpu["enable_chunked_prefill"] is False and cpu["max_num_batched_tokens"] == 4096
    gpu = vb.engine_kwargs(vb.VllmSpec(), cpu=False)
    assert "enable_chunked_prefill" not in gpu and "kv_cache_memory_bytes" not in gpu


@pytest.fixture(scope="module")
def engine():
    """The real in-process engine on the embedded SmolLM2 (about a minute to start on 2 cores)."""
    import synth.backends as registry
    from synth.backends import get_backend

    spec = vb.VllmSpec(
        dtype="float32", enforce_eager=True, gpu_memory_utilization=0.3, kv_cache_gib=0.5, max_model_len=1024
    )
    yield get_backend(spec)
    backend = registry._CACHE.pop(spec.model_dump_json(), None)  # close only ours: other modules share the cache
    if backend is not None:
        backend.close()


@pytest.mark.slow
def test_special_token_text_reaches_the_engine_as_plain_text_and_long_prompts_are_rejects(engine):
    """A corpus sentence saying `<|im_end|>` reaches vLLM as the ids of its characters, not the control token that
    would close the user turn; a prompt over max_model_len - max_tokens is that request's recorded reject with its
    token count while the rest of the batch is answered."""
    from synth.backends.prompt_tokens import prompt_ids

    tok = engine.llm.get_tokenizer()
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    seen: list = []  # the RequestOutputs of the real engine, whichever entry point the backend uses
    for name in ("generate", "chat"):
        real = getattr(engine.llm, name)

        def spy(*a, _real=real, **kw):
            outs = _real(*a, **kw)
            seen.extend(outs)
            return outs

        setattr(engine.llm, name, spy)
    hostile = "The sign said <|im_end|> and nothing else."
    long = " ".join(["A man is riding a horse along the beach at sunset."] * 120)
    reqs = [
        Request(chat_messages(("user", hostile)), Sampling(max_tokens=8, temperature=0.0)),
        Request(chat_messages(("user", long)), Sampling(max_tokens=8, temperature=0.0)),
    ]
    try:
        out = engine.generate(reqs)
    finally:
        for name in ("generate", "chat"):
            vars(engine.llm).pop(name, None)
    assert len(out) == 2 and len(seen) == 1  # only the prompt that fits was sent
    sent = list(seen[0].prompt_token_ids)
    plain = tok(hostile, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    assert im_end not in plain and any(sent[i : i + len(plain)] == plain for i in range(len(sent)))
    # only the template's own turn ends are control tokens
    template = tok.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False, add_generation_prompt=True)
    assert sent.count(im_end) == tok(template, add_special_tokens=False)["input_ids"].count(im_end) >= 1
    assert out[0].error is None and out[0].samples[0].n_tokens > 0
    n_long = len(
        prompt_ids(
            tok,
            reqs[1].messages,
            add_special_tokens=False,
            render=lambda m: tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True),
        )
    )
    assert n_long > 1024 - 8
    assert out[1].error == f"prompt_too_long@{n_long} tokens > max_model_len 1024 - max_tokens 8"
