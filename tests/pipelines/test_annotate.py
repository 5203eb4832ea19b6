"""Filters return verdicts and never change rows (issue 13): what they need computed (encoder cosines, a reoriented
pair, ranked-list monotonicity) is an annotate step before them that writes typed columns (schema v2), not floats in
`checks`; rows and datasets of schema v1 (those values in `checks`) are still read."""

import copy

import pyarrow as pa
import pyarrow.parquet as pq
from filtering_helpers import PROV, NoEncoder, VectorEncoder, rec, unit

from pipelines.curate import apply_filters
from pipelines.filters.consistency import ConsistencyFilter, ConsistencySpec, cos_key
from pipelines.filters.knowledge import KnowledgeFilter, KnowledgeSpec
from pipelines.filters.monotone import MonotoneFilter, MonotoneSpec
from pipelines.filters.thresholds import ThresholdsFilter, ThresholdsSpec
from pipelines.schema import SCHEMA, SCHEMA_VERSION, SHARD_COLUMNS, record_to_row
from synth.records import Record, Score

A, P, N = "anchor about a park", "positive about a park", "negative about a kitchen"
VECTORS = {A: [1.0, 0.0], P: unit(0.9), N: unit(0.3), "other anchor": unit(0.1)}


class AngleEncoder:
    def encode(self, texts, **_):
        import numpy as np

        return np.array([[1.0, 0.0] if t == A else unit(1.0 - 0.1 * len(t) / 10) for t in texts])


def _records():
    reversed_pair = rec(A, P, N, seed=1, positive_score=1.0, negative_score=4.0)  # the judge says: reversed
    far = rec(A, N, P, seed=2, positive_score=4.0, negative_score=1.0)
    ranked = Record(
        task="ranked",
        anchor_id="r",
        anchor=A,
        ranked=["a b", "a b c d"],
        scores=[Score("ranked:0", "a b", 4.0, 4.0, "4", "j"), Score("ranked:1", "x", 5.0, 5.0, "5", "j")],
    )
    return [reversed_pair, far, ranked, rec("other anchor", P, N, seed=3)]


def test_filters_never_change_the_records_they_judge():
    for flt in (
        ThresholdsFilter(ThresholdsSpec()),
        ConsistencyFilter(ConsistencySpec(), encoder=VectorEncoder(VECTORS)),
        ConsistencyFilter(ConsistencySpec(on_fail="reselect", margin=None), encoder=VectorEncoder(VECTORS)),
        MonotoneFilter(MonotoneSpec(), encoder=AngleEncoder()),
        KnowledgeFilter(KnowledgeSpec()),
    ):
        records = _records()
        before = copy.deepcopy(records)
        flt.verdicts(records)
        assert records == before, flt.name


def test_annotations_are_typed_columns_and_decisions_stay():
    assert SCHEMA_VERSION == 2
    assert {
        n: str(SCHEMA.field(n).type)
        for n in ("cos_pos", "cos_neg", "cos_pos_key", "swapped", "ranked_monotone_encoder", "ranked_order_judge")
    } == {
        "cos_pos": "double",
        "cos_neg": "double",
        "cos_pos_key": "double",
        "swapped": "bool",
        "ranked_monotone_encoder": "bool",
        "ranked_order_judge": "double",
    }
    rows = [record_to_row(r, PROV) for r in _records()]
    apply_filters(
        rows,
        [
            ThresholdsFilter(ThresholdsSpec()),
            ConsistencyFilter(ConsistencySpec(min_positive_cos=0.5), encoder=VectorEncoder(VECTORS)),
            MonotoneFilter(MonotoneSpec(), encoder=AngleEncoder()),
        ],
    )
    swapped, far, ranked, plain = rows
    assert swapped["swapped"] is True and (swapped["positive"], swapped["negative"]) == (N, P)
    assert swapped["reason"] == "consistency:positive_too_far" and swapped["cos_pos"] == 0.3
    assert far["swapped"] in (None, False) and far["reason"] == "consistency:positive_too_far"
    assert isinstance(plain["cos_pos"], float) and isinstance(plain["cos_neg_key"], float)
    assert ranked["ranked_monotone_encoder"] is True and ranked["ranked_monotone_judge"] is False
    assert ranked["ranked_order_judge"] == 0.0
    names = {c["name"] for r in rows for c in r["checks"]}
    assert not names & {"cos_pos", "cos_neg", "cos_pos_key", "cos_neg_key", "swapped", "ranked_monotone_encoder"}
    pa.Table.from_pylist(rows, schema=SCHEMA)  # the typed columns fit the schema


def test_schema_v1_dataset_is_read_swaps_undone_and_cosines_reused(tmp_path):
    from pipelines.refilter import refilter_batches

    row = record_to_row(rec(A, N, P, seed=1, positive_score=4.0, negative_score=1.0), PROV)
    key = cos_key("embedded:all-minilm-l6-v2", A, N)  # stored after the swap: positive N had cos 0.3
    row["checks"] = [
        {"name": "cos_pos", "value": 0.3},
        {"name": "cos_neg", "value": 0.9},
        {"name": "cos_pos_key", "value": key},
        {"name": "cos_neg_key", "value": cos_key("embedded:all-minilm-l6-v2", A, P)},
        {"name": "swapped", "value": 1.0},
    ]
    v1 = pa.schema([f for f in SCHEMA if f.name in SHARD_COLUMNS])  # version 1: no annotation columns
    ds = tmp_path / "ds"
    (ds / "data").mkdir(parents=True)
    (ds / "stats.json").write_text("{}")
    pq.write_table(pa.Table.from_pylist([{k: row[k] for k in v1.names}], schema=v1), ds / "data" / "train-0.parquet")
    [[back]] = list(refilter_batches(ds, []))
    assert (back["positive"], back["negative"], back["positive_score"]) == (P, N, 1.0)  # as generated
    assert (back["cos_pos"], back["cos_neg"], back["swapped"]) == (0.9, 0.3, None) and back["checks"] == []
    rows = [back]
    apply_filters(rows, [ThresholdsFilter(ThresholdsSpec()), ConsistencyFilter(ConsistencySpec(), encoder=NoEncoder())])
    assert rows[0]["swapped"] is True and rows[0]["reason"] == "consistency:positive_too_far"
