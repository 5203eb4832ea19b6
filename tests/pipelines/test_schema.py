import pyarrow as pa
import pytest

from pipelines.schema import SCHEMA, record_to_row, row_to_record, rows_to_table, validate_table
from synth.records import ChangedFact, Entity, Quantity, Record, Score

PROV = {
    "backend": "transformers",
    "model": "m",
    "model_hash": "h",
    "temperature": 0.7,
    "top_p": 0.9,
    "max_tokens": 32,
    "shard": "shard-00000-x.parquet",
    "recipe_hash": "r",
}


def full_record(**kw):
    return Record(
        task="pairs",
        anchor_id="a1",
        anchor="An anchor.",
        positive="A positive.",
        negative="A negative.",
        negative_kind="contradiction",
        ranked=["r1", "r2"],
        ranked_mode="chain",
        scores=[Score("positive", "A positive.", 4.2, 4.0, "4", "judge")],
        checks={"cos_pos": 0.9},
        entities=[Entity("Paris", "GPE")],
        quantities=[Quantity("3.5%", 3.5, "%", "percent")],
        changed_fact=ChangedFact("quantity_change", "3.5%", "7%"),
        prompt_ids=["p", "n"],
        exemplar_ids=["e1"],
        seed=7,
        raw={"positive": "raw"},
        **kw,
    )


def test_every_record_field_round_trips_through_arrow():
    rec = full_record()
    table = rows_to_table([record_to_row(rec, PROV)])
    validate_table(table)
    back = row_to_record(table.to_pylist()[0])
    assert back == rec and back.id == rec.id


def test_parse_errors_become_rejected_rows_with_reason():
    row = record_to_row(full_record(parse_error="negative_empty"), PROV)
    assert row["kept"] is False and row["reason"] == "parse:negative_empty"
    assert row["verdicts"] == [{"stage": "parse", "kept": False, "reason": "parse:negative_empty"}]


def test_id_is_content_derived():
    assert full_record().id == full_record().id
    assert full_record().id != full_record(sample_index=1).id


def test_validate_table_rejects_foreign_schema():
    with pytest.raises(ValueError):
        validate_table(pa.table({"id": ["x"]}))
    assert "provenance" in SCHEMA.names and "verdicts" in SCHEMA.names
