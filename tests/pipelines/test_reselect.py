"""GCSE's denoising with re-selection through curate's filter pass and the real reference encoder
(all-MiniLM-L6-v2): a failing pair is re-formed (positive = anchor, negative = a later row's anchor), its unused
candidates come back as (c, c, negative) rows, and every row says how it was formed."""

from pipelines.curate import apply_filters
from pipelines.filters.consistency import ConsistencyFilter, ConsistencySpec
from pipelines.schema import record_to_row
from synth.records import Record

A1 = "Telephone counseling raised mammography rates in North Carolina."
A2 = "Print materials were mailed to 1,099 women in the trial."
A3 = "Screening rates rose among older women after the reminder letters."
FAR = "Bananas are a popular fruit in tropical countries."
NEAR = "Print materials were mailed to 1,099 women in this trial."


def rows():
    recs = [
        Record("kg_variants", "a1", A1, positive=A1.replace("raised", "increased"), negative=FAR, seed=1),
        Record("kg_variants", "a2", A2, positive=FAR, negative=NEAR, seed=2),
        Record("kg_variants", "a3", A3, positive=A3.replace("rose", "went up"), negative=FAR, seed=3),
    ]
    return [record_to_row(r, {"backend": "transformers"}) for r in recs]


def checks(row):
    return {c["name"]: c["value"] for c in row["checks"]}


def test_reselect_marks_reformed_and_reemitted_rows(minilm):
    data = rows()
    apply_filters(data, [ConsistencyFilter(ConsistencySpec(on_fail="reselect", margin=None), encoder=minilm)])
    marks = [{k for k in checks(row) if k.startswith("reselect_")} for row in data]
    assert [row["kept"] for row in data] == [True] * 5 and len(data) == 5
    assert marks[0] == marks[2] == {"reselect_as_generated"}
    r2 = data[1]
    assert marks[1] == {"reselect_positive_from_anchor", "reselect_negative_from_row"}
    assert r2["positive"] == A2 and r2["negative"] == A3 and r2["cos_pos"] > 0.999
    assert checks(r2)["reselect_negative_from_row"] == 7.0  # 6 rows on is itself in a batch of 3: the next other
    new = {m.pop(): data[i] for i, m in ((3, marks[3]), (4, marks[4]))}
    assert set(new) == {"reselect_reemitted_positive", "reselect_reemitted_negative"}
    assert new["reselect_reemitted_positive"]["anchor"] == FAR == new["reselect_reemitted_positive"]["positive"]
    neg = new["reselect_reemitted_negative"]
    assert neg["anchor"] == NEAR == neg["positive"] and neg["negative"] == A3 and neg["anchor_id"] == "a2~negative1"
    assert neg["provenance"]["backend"] == "transformers" and neg["entities"] == []
    from pipelines.knowledge_graph import fact_stats

    assert fact_stats(data)["records"] == 3  # re-emitted self pairs carry no facts to count


def test_reject_stays_the_default(minilm):
    data = rows()
    apply_filters(data, [ConsistencyFilter(ConsistencySpec(margin=None), encoder=minilm)])
    assert len(data) == 3 and data[1]["reason"] == "consistency:positive_too_far" and data[0]["kept"]
