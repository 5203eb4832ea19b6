import pytest
from filtering_helpers import rec, write_shard
from pydantic import ValidationError

from pipelines.curate import apply_filters, load_rows
from pipelines.filters import build_filter
from pipelines.filters.dedup import DedupFilter, DedupSpec, jaccard, key_parts, shingles
from pipelines.shards import finished_shards

A = "A man in a blue shirt is standing in front of a garage."
P = "A man wearing a blue shirt stands before a garage."
N = "A woman in a red dress sits inside the garage."


def verdicts(records, **spec):
    return DedupFilter(DedupSpec(**spec)).verdicts(records)


def test_exact_duplicate_after_normalisation_names_the_kept_record():
    first, again = rec(A, P, N, seed=1), rec(A.upper(), P + "!!", "  " + N.lower(), seed=2)
    out = verdicts([first, again, rec(A, P, "A dog sleeps on the porch.", seed=3)], near=False)
    assert out == [None, f"exact_duplicate:all@{first.id}", None]


def test_per_field_keys_each_checked():
    a, b = rec(A, P, N, seed=1), rec("Two dogs run on a beach.", P, "Cats sleep.", seed=2)
    assert verdicts([a, b], near=False) == [None, None]  # different triples
    assert verdicts([a, b], by=["positive"], near=False) == [None, f"exact_duplicate:positive@{a.id}"]
    assert verdicts([a, b], by=["negative", "positive"], near=False)[1] == f"exact_duplicate:positive@{a.id}"


def test_default_key_is_every_content_field_so_lists_and_pairs_of_one_anchor_differ():
    lists = [rec(A, ranked=["x y z w", "a b c d"], seed=1), rec(A, ranked=["q r s t"], seed=2)]
    pairs = [rec(A, text_b="A cat sleeps on the sofa.", seed=3), rec(A, text_b="Two men fish.", seed=4)]
    assert verdicts(lists + pairs) == [None] * 4
    assert (
        verdicts(lists + pairs, by=["anchor+positive+negative"], near=False)[1:]
        == [f"exact_duplicate:anchor+positive+negative@{lists[0].id}"] * 3
    )


def test_near_duplicate_boundary_is_the_exact_jaccard():
    a = rec(A, P, N, seed=1)
    b = rec(A, P.replace("stands", "is standing"), N, seed=2)
    key = "all"
    j = jaccard(shingles(key_parts(a, key), 5), shingles(key_parts(b, key), 5))
    assert 0.5 < j < 1
    assert verdicts([a, b], near_threshold=j, exact=False) == [None, f"near_duplicate:{key}@{a.id}"]
    assert verdicts([a, b], near_threshold=min(1.0, j + 1e-6), exact=False) == [None, None]


def test_near_duplicates_keep_the_first_of_a_cluster():
    base = rec(A, P, N, seed=0)
    variants = [rec(A, P.replace("garage", w), N, seed=i) for i, w in enumerate(["garage.", "garage!", "garage?"], 1)]
    unrelated = rec("Two dogs run on a beach at dawn.", "Dogs are running on the sand.", "A cat naps indoors.", seed=9)
    out = verdicts([base, *variants, unrelated], near_threshold=0.8)
    assert out[0] is None and out[-1] is None
    assert all(o.endswith(f"@{base.id}") for o in out[1:-1])


def test_records_without_key_fields_are_kept():
    ranked = rec(A, ranked=["x y z", "a b c"], seed=1)
    assert verdicts([ranked, rec(A, ranked=["q r s"], seed=2)], by=["positive+negative"]) == [None, None]
    assert DedupSpec(by=["all", "positive"]).by == ["all", "positive"]


def test_unknown_key_field_is_a_config_error():
    with pytest.raises(ValidationError, match="unknown field"):
        DedupSpec(by=["anchor+hypothesis"])


def test_duplicates_across_shards_through_load_rows_and_apply_filters(tmp_path):
    gen = tmp_path / "generated" / "pairs"
    first = rec(A, P, N, seed=1)
    write_shard(gen, 0, [first, rec("Two dogs run on a beach.", "Dogs run on sand.", "A cat sleeps.", seed=2)])
    write_shard(
        gen,
        1,
        [
            rec("A child eats an apple.", "A kid is eating fruit.", "A child throws a ball.", seed=3),
            rec(A, P.lower(), N, seed=4),  # exact duplicate of shard 0's first record
            rec(A, P + " today", N, seed=5),
        ],
    )  # near duplicate of it
    rows = load_rows(finished_shards(gen))
    stats = apply_filters(rows, [build_filter(DedupSpec(near_threshold=0.8))])
    by_seed = {r["provenance"]["seed"]: r for r in rows}
    assert by_seed[1]["kept"] and by_seed[2]["kept"] and by_seed[3]["kept"]
    assert by_seed[4]["reason"] == f"dedup:exact_duplicate:all@{first.id}"
    assert by_seed[5]["reason"] == f"dedup:near_duplicate:all@{first.id}"
    assert stats[-1].reasons == {"exact_duplicate:all": 1, "near_duplicate:all": 1}
