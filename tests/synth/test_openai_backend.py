"""The openai backend against a small fault-injecting HTTP server on 127.0.0.1: request bodies, retries with
backoff on refused connections / timeouts / 500 / 429, the clear error when a server stays down, bounded
concurrency, and an API key that never leaves the Authorization header."""

from __future__ import annotations

import json
import logging
import time

import pytest
from fault_server import FaultServer

from synth.backends import BackendError
from synth.backends import openai_backend as ob
from synth.backends.base import Guidance, Request, Sampling, Structured, chat_messages
from synth.serve import free_port

SECRET = "sk-test-SECRET-0123456789"


def spec(url, **kw):
    base = dict(base_url=url, max_retries=3, backoff_s=0.01, backoff_max_s=0.05, timeout_s=5.0, connect_timeout_s=1.0)
    base.update(kw)
    return ob.OpenAISpec(**base)


def req(text="a man rides a horse", **sampling):
    return Request(messages=chat_messages(("user", text)), sampling=Sampling(max_tokens=16, **sampling))


def test_request_body_fields():
    r = Request(
        messages=chat_messages(("user", "hi")),
        sampling=Sampling(max_tokens=32, temperature=0.5, top_p=0.8, seed=7, n=3, stop=("\n",), logprobs=4),
        structured=Structured(kind="json", spec={"type": "object"}),
    )
    body = ob.request_body("m", r)
    assert body["max_tokens"] == 32 and body["n"] == 3 and body["stop"] == ["\n"]
    assert body["seed"] == 7 * ob.SEED_STRIDE  # seeds of sample k (seed + k) never reach the next request's
    assert body["logprobs"] is True and body["top_logprobs"] == 4
    assert body["structured_outputs"] == {"json": {"type": "object"}, "disable_any_whitespace": True}
    assert not any(k.startswith("guided_") for k in body)  # ignored by vLLM >= 0.11
    choice = ob.request_body("m", Request(r.messages, r.sampling, Structured("choice", ["1", "2"])))
    assert choice["structured_outputs"] == {"choice": ["1", "2"]}
    regex = ob.request_body("m", Request(r.messages, r.sampling, Structured("regex", "[0-9]")))
    assert regex["structured_outputs"] == {"regex": "[0-9]"}
    rf = ob.request_body("m", r, "response_format")
    assert rf["response_format"]["json_schema"]["schema"] == {"type": "object"}
    with pytest.raises(BackendError, match="only carries JSON"):
        ob.request_body("m", Request(r.messages, r.sampling, Structured("choice", ["1"])), "response_format")
    with pytest.raises(BackendError, match="guidance"):
        ob.request_body("m", Request(r.messages, r.sampling, guidance=Guidance(negative=r.messages)))


def test_generate_parses_samples_and_logprobs():
    with FaultServer() as srv:
        llm = ob.OpenAIBackend(spec(srv.url))
        out = llm.generate([req("one", n=2, logprobs=2), req("two")])
    assert [s.text for s in out[0].samples] == ["echo: one #0", "echo: one #1"]
    assert out[0].samples[0].top_logprobs == [{"echo": -0.1, "Echo": -2.5}]
    assert out[1].text == "echo: two #0" and out[1].samples[0].top_logprobs is None
    assert llm.tokens_generated == 15
    assert len(srv.bodies) == 2


def test_retries_500_and_429_then_recovers(monkeypatch):
    delays = []

    async def record(d):
        delays.append(d)

    monkeypatch.setattr(ob, "_sleep", record)
    monkeypatch.setattr(ob.random, "random", lambda: 1.0)  # no jitter: the schedule is exact
    with FaultServer(["500", "429", "503"]) as srv:
        out = ob.OpenAIBackend(spec(srv.url, backoff_s=0.01, backoff_max_s=1.0)).generate([req()])
    assert out[0].text.startswith("echo:")
    assert len(srv.bodies) == 4
    assert delays == [0.01, 0.02, 0.04]  # exponential


def test_timeout_is_retried():
    with FaultServer([("hang", 2.0)]) as srv:
        out = ob.OpenAIBackend(spec(srv.url, timeout_s=0.5)).generate([req()])
    assert out[0].text.startswith("echo:")
    assert len(srv.bodies) == 2


def test_refused_connection_gives_clear_error_naming_url():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    t0 = time.perf_counter()
    with pytest.raises(BackendError) as e:
        ob.OpenAIBackend(spec(url, max_retries=2)).generate([req(), req("b")])
    assert url in str(e.value) and "unreachable after 3 attempts" in str(e.value)
    assert time.perf_counter() - t0 < 10


def test_server_that_stays_broken_fails_after_bounded_retries():
    with FaultServer(["500"] * 10) as srv:
        with pytest.raises(BackendError, match="HTTP 500"):
            ob.OpenAIBackend(spec(srv.url, max_retries=2)).generate([req()])
    assert len(srv.bodies) == 3


def test_client_error_is_not_retried():
    with FaultServer(["404"]) as srv:  # a wrong URL or model name: every request would fail the same way
        with pytest.raises(BackendError, match="HTTP 404"):
            ob.OpenAIBackend(spec(srv.url)).generate([req()])
    assert len(srv.bodies) == 1


def test_non_json_answer_is_retried_then_a_clear_error():
    with FaultServer(["garbage"] * 4) as srv:
        with pytest.raises(BackendError, match="not_json"):
            ob.OpenAIBackend(spec(srv.url)).generate([req()])
    assert len(srv.bodies) == 4  # retried like a 5xx


def test_200_without_choices_is_retried_like_a_5xx():
    with FaultServer(["nochoices", "garbage"]) as srv:
        out = ob.OpenAIBackend(spec(srv.url)).generate([req("one")])
    assert out[0].text == "echo: one #0" and out[0].error is None
    assert len(srv.bodies) == 3


def test_200_without_choices_after_retries_rejects_that_request_only():
    with FaultServer(rules=[("broken", "nochoices")]) as srv:
        out = ob.OpenAIBackend(spec(srv.url, max_retries=2)).generate([req("broken one"), req("two")])
    assert out[0].samples[0].finish_reason == "error" and out[0].error.startswith("no_choices@")
    assert "upstream model crashed" in out[0].error  # the server's own words
    assert out[1].text == "echo: two #0"
    assert len(srv.bodies) == 4  # three attempts for the broken request, one for the other


def test_a_shard_whose_requests_all_fail_is_an_error_not_a_finished_shard():
    with FaultServer(rules=[("", "nochoices")]) as srv:
        with pytest.raises(BackendError, match="all 2 requests failed.*rerun retries it"):
            ob.OpenAIBackend(spec(srv.url, max_retries=1)).generate([req("a"), req("b")])


def test_400_rejects_one_request_with_the_servers_reason_and_the_rest_go_on(monkeypatch, caplog):
    monkeypatch.setenv("CSYNTH_TEST_KEY", SECRET)
    with FaultServer(rules=[("too long", "400")]) as srv:
        out = ob.OpenAIBackend(spec(srv.url, api_key_env="CSYNTH_TEST_KEY")).generate(
            [req("one"), req("too long " * 5), req("three")]
        )
    assert [c.text for c in out] == ["echo: one #0", "", "echo: three #0"]
    assert out[1].error.startswith("http_400@") and "maximum context length is 2048 tokens" in out[1].error
    assert len(srv.bodies) == 3  # not retried
    assert SECRET not in out[1].error and SECRET not in caplog.text


def test_400_echoing_the_key_is_redacted(monkeypatch):
    monkeypatch.setenv("CSYNTH_TEST_KEY", SECRET)
    with FaultServer(rules=[("long", "400-echo-key")]) as srv:
        out = ob.OpenAIBackend(spec(srv.url, api_key_env="CSYNTH_TEST_KEY", max_retries=0)).generate(
            [req("long"), req("fine")]
        )
    assert out[0].error.startswith("http_400@") and "[api key redacted]" in out[0].error
    assert SECRET not in out[0].error


def test_a_trickling_server_meets_the_per_request_deadline():
    """Bytes every few ms never trip a per-read timeout; the deadline covers connect + all reads."""
    with FaultServer([("trickle", 4.0)]) as srv:
        t0 = time.perf_counter()
        out = ob.OpenAIBackend(spec(srv.url, timeout_s=1.0)).generate([req("slow")])
        took = time.perf_counter() - t0
    assert out[0].text == "echo: slow #0"
    assert len(srv.bodies) == 2 and took < 3.0, took  # gave up on the trickle after ~1 s, then retried


def test_retry_after_is_honoured_up_to_its_cap_and_logged(monkeypatch, caplog):
    delays = []

    async def record(d):
        delays.append(d)

    monkeypatch.setattr(ob, "_sleep", record)
    monkeypatch.setattr(ob.random, "random", lambda: 1.0)
    caplog.set_level(logging.WARNING)
    with FaultServer([("429", "0.5"), ("429", "3600")]) as srv:
        out = ob.OpenAIBackend(spec(srv.url, backoff_s=0.01, backoff_max_s=0.05, retry_after_max_s=2.0)).generate(
            [req()]
        )
    assert out[0].text.startswith("echo:")
    assert delays == [0.5, 2.0]  # above backoff_max_s when the server asks; never above retry_after_max_s
    assert "asked to wait 3600.0s (Retry-After); waiting 2.0s" in caplog.text
    assert ob.retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0 and ob.retry_after_s("soon") is None


def test_round_robin_skips_a_dead_server():
    dead = f"http://127.0.0.1:{free_port()}/v1"
    with FaultServer() as srv:
        out = ob.OpenAIBackend(spec([dead, srv.url])).generate([req(str(i)) for i in range(6)])
    assert [c.text for c in out] == [f"echo: {i} #0" for i in range(6)]  # order kept
    assert len(srv.bodies) == 6


def test_concurrency_is_bounded():
    with FaultServer(delay=0.1) as srv:
        ob.OpenAIBackend(spec(srv.url, concurrency=2)).generate([req(str(i)) for i in range(8)])
    assert srv.max_in_flight <= 2 and len(srv.bodies) == 8


def test_api_key_only_in_header(monkeypatch, caplog):
    from flows.recipe import recipe_from_dict, recipe_toml

    monkeypatch.setenv("CSYNTH_TEST_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    with FaultServer(["500"] * 3) as srv:
        s = spec(srv.url, api_key_env="CSYNTH_TEST_KEY", max_retries=2)
        with pytest.raises(BackendError) as e:
            ob.OpenAIBackend(s).generate([req()])
    assert srv.auth == [f"Bearer {SECRET}"] * 3
    assert SECRET not in str(e.value) and SECRET not in caplog.text
    assert all(SECRET not in json.dumps(b) for b in srv.bodies)
    recipe = recipe_from_dict({"name": "k", "sampling": {"max_tokens": 8}, "generator": s.model_dump()})
    assert SECRET not in recipe_toml(recipe) and "CSYNTH_TEST_KEY" in recipe_toml(recipe)


def test_missing_key_variable_and_bad_settings(monkeypatch):
    monkeypatch.delenv("CSYNTH_NO_SUCH_KEY", raising=False)
    with pytest.raises(BackendError, match="CSYNTH_NO_SUCH_KEY"):
        ob.OpenAIBackend(spec("http://127.0.0.1:1/v1", api_key_env="CSYNTH_NO_SUCH_KEY"))
    with pytest.raises(ValueError):
        ob.OpenAISpec(api_key_env="sk-abc 123")  # a key pasted in place of a variable name is refused
    with pytest.raises(ValueError):
        ob.OpenAISpec(base_url="localhost:8000")


@pytest.mark.parametrize(
    "field, value",
    [
        ("api_key_env", "hf_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9"),
        ("api_key_env", "sk-proj-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2"),
        ("base_url", "https://user:s3cretpassw0rd@llm.example.com/v1"),
        ("base_url", "https://llm.example.com/v1?api_key=s3cretpassw0rd"),
    ],
)
def test_keys_in_the_spec_are_refused_and_never_echoed(field, value):
    """The Python API too: the exception (and so any traceback or log of it) never carries the key."""
    with pytest.raises(ValueError) as e:
        ob.OpenAISpec(**{field: value})
    assert "api_key_env" in str(e.value)
    assert value not in str(e.value) and "s3cretpassw0rd" not in str(e.value) and value[4:14] not in str(e.value)


def test_a_hung_server_costs_at_most_deadline_s_per_request():
    """timeout_s bounds one attempt; deadline_s bounds the request over all its attempts and waits."""
    with FaultServer([("hang", 5.0)] * 5) as srv:
        t0 = time.perf_counter()
        with pytest.raises(BackendError, match=r"unreachable after 2 attempts.*deadline_s=1.5 reached"):
            ob.OpenAIBackend(spec(srv.url, timeout_s=1.0, deadline_s=1.5, max_retries=6)).generate([req()])
        took = time.perf_counter() - t0
    assert took < 3.0, took  # not 7 x 1 s
