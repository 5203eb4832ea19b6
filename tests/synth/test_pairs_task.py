from doubles import ScriptedBackend

from synth.backends.base import Sampling
from synth.records import Anchor
from synth.tasks import build_task
from synth.tasks.base import TaskContext
from synth.tasks.pairs import PairsSpec

ANCHORS = [
    Anchor("A dog runs across the yard."),
    Anchor("Two women share a meal at a cafe."),
    Anchor("A boy is reading a book under a tree."),
]


def script(req):
    role = req.meta["role"]
    anchor = req.meta["anchor"].text
    if "cafe" in anchor and role == "negative":
        return ""  # an empty answer must become a recorded rejection
    return f"{role.title()}: {anchor[:-1]} today."


def run(spec=PairsSpec(), seed=13):
    backend = ScriptedBackend(script)
    ctx = TaskContext(seed=seed, sampling=Sampling(max_tokens=32), shard="00000")
    return backend, build_task(spec).run(ANCHORS, backend, ctx)


def test_one_generate_call_per_shard_with_both_roles():
    backend, records = run()
    assert backend.calls == [2 * len(ANCHORS)]
    assert [r.anchor for r in records] == [a.text for a in ANCHORS]


def test_records_carry_prompt_and_exemplar_provenance():
    _, records = run(PairsSpec(exemplars=3))
    for r in records:
        assert r.prompt_ids[0].startswith("pos-") and r.prompt_ids[1].startswith("neg-")
        assert len(r.exemplar_ids) == 6
        assert r.positive and r.positive.startswith(r.anchor[:-1])  # the "Positive:" label was stripped


def test_unparsable_output_is_a_recorded_rejection():
    _, records = run()
    bad = [r for r in records if r.parse_error]
    assert len(bad) == 1 and bad[0].parse_error == "negative_empty" and bad[0].raw["negative"] == ""


def test_same_seed_same_prompts_and_ids_other_seed_differs():
    _, a = run(seed=13)
    _, b = run(seed=13)
    _, c = run(seed=14)
    assert [r.id for r in a] == [r.id for r in b]
    assert [(r.prompt_ids, r.exemplar_ids) for r in a] == [(r.prompt_ids, r.exemplar_ids) for r in b]
    assert [r.id for r in a] != [r.id for r in c]


def test_several_samples_per_anchor_get_distinct_ids():
    _, records = run(PairsSpec(samples=2))
    assert len(records) == 2 * len(ANCHORS)
    assert len({r.id for r in records}) == len(records)


def test_best_of_n_keeps_the_first_candidate_that_is_not_a_copy():
    def copies_first(req):
        a = req.meta["anchor"].text
        return [a, f"Rewritten: {a[:-1]} indeed."]

    backend = ScriptedBackend(copies_first)
    ctx = TaskContext(seed=1, sampling=Sampling(max_tokens=32), shard="0")
    records = build_task(PairsSpec(candidates=2)).run(ANCHORS, backend, ctx)
    assert all(r.positive.endswith("indeed.") and r.checks["positive_candidate"] == 1 for r in records)
    single = build_task(PairsSpec()).run(ANCHORS, ScriptedBackend(copies_first), ctx)
    assert all(r.positive == r.anchor for r in single)  # n=1: the copy stays, for the rules filter to reject
