"""Pairs task, output = "json": one schema-constrained request per record, parse failures are rejections."""

import json

from doubles import ScriptedBackend

from synth.backends.base import Sampling
from synth.records import Anchor
from synth.tasks import build_task
from synth.tasks.base import TaskContext
from synth.tasks.pairs import PAIR_SCHEMA, PairsSpec

ANCHORS = [
    Anchor("A dog runs across the yard."),
    Anchor("Two women share a meal at a cafe."),
    Anchor("A boy is reading a book under a tree."),
]


def script(req):
    anchor = req.messages[-1]["content"]
    if "cafe" in anchor:
        return '{"positive": "Two women eat together'  # truncated: a recorded rejection
    if "boy" in anchor:
        return json.dumps({"positive": "A child reads under a tree.", "negative": 3})
    return json.dumps({"positive": "Sentence: A dog is running.", "negative": "A cat sleeps on the sofa."})


def run(spec):
    backend = ScriptedBackend(script)
    ctx = TaskContext(seed=13, sampling=Sampling(max_tokens=32), shard="00000")
    return backend, build_task(spec).run(ANCHORS, backend, ctx)


def test_json_mode_one_request_per_record_with_schema():
    seen = []
    backend = ScriptedBackend(lambda r: seen.append(r) or script(r))
    ctx = TaskContext(seed=13, sampling=Sampling(max_tokens=32), shard="00000")
    records = build_task(PairsSpec(output="json", samples=2)).run(ANCHORS, backend, ctx)
    assert backend.calls == [2 * len(ANCHORS)] and len(records) == 6
    r = seen[0]
    assert r.structured.kind == "json" and r.structured.spec == PAIR_SCHEMA
    assert r.sampling.max_tokens == 2 * 32 + 16
    assert '"positive"' in r.messages[0]["content"] and '"negative"' in r.messages[0]["content"]
    demo = json.loads(r.messages[3]["content"])  # exemplar pairs that share an input, shown as JSON
    assert set(demo) == {"positive", "negative"}


def test_json_mode_parses_and_rejects():
    _, records = run(PairsSpec(output="json"))
    dog, cafe, boy = records
    assert dog.positive == "A dog is running." and dog.negative == "A cat sleeps on the sofa." and not dog.parse_error
    assert dog.prompt_ids[0].startswith("pos-") and dog.prompt_ids[1].startswith("neg-")
    assert len(dog.exemplar_ids) == 6 and "json" in dog.raw
    assert cafe.parse_error == "json_truncated_json" and cafe.positive is None
    assert boy.parse_error == "negative_empty"


def test_text_mode_is_the_default_and_unchanged():
    assert PairsSpec().output == "text"
    backend, records = run(PairsSpec())
    assert backend.calls == [2 * len(ANCHORS)]
    assert set(records[0].raw) == {"positive", "negative"}
