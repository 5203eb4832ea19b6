"""The one Arrow schema shared by every task, shard, dataset split and rejects table.

Rows carry the record, its provenance (backend, model and hash, prompts, exemplars, seed, sampling,
schema version) and the filter verdicts, so a dataset explains every row it kept or rejected.

Version 2 adds the annotation columns (`ANNOTATIONS`): what curate's annotate steps compute before the filters
judge (encoder cosines and the key of what they were computed from, a pair reoriented by the judge's scores,
ranked-list monotonicity). Version 1 kept these as floats in `checks`; `upgrade_row` reads such rows.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Iterable

import pyarrow as pa

from synth.records import ChangedFact, Entity, Quantity, Record, Score

SCHEMA_VERSION = 2
# What a generated shard is keyed on and must hold: generation's columns, not curate's annotations (version 2
# added those), so a new dataset schema does not re-key (regenerate) finished shards. Raise it when generation
# writes something different.
SHARD_LAYOUT_VERSION = 1

SCORE = pa.struct(
    [
        ("target", pa.string()),
        ("text", pa.string()),
        ("expected", pa.float64()),
        ("parsed", pa.float64()),
        ("raw", pa.string()),
        ("model", pa.string()),
    ]
)
ENTITY = pa.struct([("text", pa.string()), ("type", pa.string())])
QUANTITY = pa.struct([("text", pa.string()), ("value", pa.float64()), ("unit", pa.string()), ("kind", pa.string())])
CHANGED = pa.struct([("kind", pa.string()), ("before", pa.string()), ("after", pa.string())])
NAMED_TEXT = pa.struct([("name", pa.string()), ("text", pa.string())])
CHECK = pa.struct([("name", pa.string()), ("value", pa.float64())])
VERDICT = pa.struct([("stage", pa.string()), ("kept", pa.bool_()), ("reason", pa.string())])
# typed columns written by curate's annotate steps (pipelines.filters.*: annotators), null where not computed
ANNOTATIONS = [
    ("cos_pos", pa.float64()),
    ("cos_neg", pa.float64()),  # reference-encoder cos(anchor, positive / negative)
    ("cos_pos_key", pa.float64()),
    ("cos_neg_key", pa.float64()),  # fingerprint of (encoder, anchor, text)
    ("swapped", pa.bool_()),  # positive and negative exchanged: the judge scored the negative higher
    ("no_scores", pa.bool_()),  # a pair the judge did not score
    ("ranked_monotone_encoder", pa.bool_()),
    ("ranked_order_encoder", pa.float64()),
    ("ranked_monotone_judge", pa.bool_()),
    ("ranked_order_judge", pa.float64()),
]
ANNOTATION_COLUMNS = tuple(n for n, _ in ANNOTATIONS)
PROVENANCE = pa.struct(
    [
        ("backend", pa.string()),
        ("model", pa.string()),
        ("model_hash", pa.string()),
        ("prompt_ids", pa.list_(pa.string())),
        ("exemplar_ids", pa.list_(pa.string())),
        ("seed", pa.int64()),
        ("sample_index", pa.int32()),
        ("temperature", pa.float64()),
        ("top_p", pa.float64()),
        ("max_tokens", pa.int32()),
        ("shard", pa.string()),
        ("recipe_hash", pa.string()),
        ("schema_version", pa.int32()),
    ]
)

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("task", pa.string()),
        ("anchor_id", pa.string()),
        ("anchor", pa.string()),
        ("positive", pa.string()),
        ("negative", pa.string()),
        ("negative_kind", pa.string()),
        ("text_b", pa.string()),
        ("pair_score", pa.float64()),
        ("positive_score", pa.float64()),
        ("negative_score", pa.float64()),
        ("ranked", pa.list_(pa.string())),
        ("ranked_mode", pa.string()),
        ("scores", pa.list_(SCORE)),
        ("checks", pa.list_(CHECK)),
        *ANNOTATIONS,
        ("entities", pa.list_(ENTITY)),
        ("quantities", pa.list_(QUANTITY)),
        ("changed_fact", CHANGED),
        ("raw", pa.list_(NAMED_TEXT)),
        ("provenance", PROVENANCE),
        ("verdicts", pa.list_(VERDICT)),
        ("kept", pa.bool_()),
        ("reason", pa.string()),
    ],
    metadata={"contrastive_synth_schema_version": str(SCHEMA_VERSION)},
)

COLUMNS = SCHEMA.names
SHARD_COLUMNS = tuple(n for n in COLUMNS if n not in ANNOTATION_COLUMNS)  # what a finished generated shard holds


def record_to_row(rec: Record, provenance: dict[str, Any]) -> dict[str, Any]:
    """A Record plus its provenance -> a dict matching SCHEMA. Parse failures start as rejected rows."""
    d = asdict(rec)
    verdicts = []
    if rec.parse_error:
        verdicts.append({"stage": "parse", "kept": False, "reason": f"parse:{rec.parse_error}"})
    row = {
        "id": rec.id,
        "task": rec.task,
        "anchor_id": rec.anchor_id,
        "anchor": rec.anchor,
        "positive": rec.positive,
        "negative": rec.negative,
        "negative_kind": rec.negative_kind,
        "text_b": rec.text_b,
        "pair_score": rec.pair_score,
        "positive_score": rec.positive_score,
        "negative_score": rec.negative_score,
        "ranked": rec.ranked,
        "ranked_mode": rec.ranked_mode,
        "scores": d["scores"],
        "checks": [{"name": k, "value": float(v)} for k, v in rec.checks.items()],
        "entities": d["entities"],
        "quantities": d["quantities"],
        "changed_fact": d["changed_fact"],
        "raw": [{"name": k, "text": v} for k, v in rec.raw.items()],
        "provenance": {
            **provenance,
            "prompt_ids": rec.prompt_ids,
            "exemplar_ids": rec.exemplar_ids,
            "seed": rec.seed,
            "sample_index": rec.sample_index,
            "schema_version": SCHEMA_VERSION,
        },
        **dict.fromkeys(ANNOTATION_COLUMNS),
        "verdicts": verdicts,
        "kept": not rec.parse_error,
        "reason": f"parse:{rec.parse_error}" if rec.parse_error else None,
    }
    return row


def row_to_record(row: dict[str, Any]) -> Record:
    """Inverse of record_to_row for the record part (provenance and verdicts stay in the row)."""
    prov = row.get("provenance") or {}
    cf = row.get("changed_fact")
    return Record(
        task=row["task"],
        anchor_id=row["anchor_id"],
        anchor=row["anchor"],
        positive=row.get("positive"),
        negative=row.get("negative"),
        negative_kind=row.get("negative_kind"),
        text_b=row.get("text_b"),
        pair_score=row.get("pair_score"),
        positive_score=row.get("positive_score"),
        negative_score=row.get("negative_score"),
        ranked=row.get("ranked"),
        ranked_mode=row.get("ranked_mode"),
        scores=[Score(**s) for s in row.get("scores") or []],
        checks={c["name"]: c["value"] for c in row.get("checks") or []},
        entities=[Entity(**e) for e in row.get("entities") or []],
        quantities=[Quantity(**q) for q in row.get("quantities") or []],
        changed_fact=ChangedFact(**cf) if cf else None,
        prompt_ids=list(prov.get("prompt_ids") or []),
        exemplar_ids=list(prov.get("exemplar_ids") or []),
        seed=prov.get("seed") or 0,
        sample_index=prov.get("sample_index") or 0,
        raw={r["name"]: r["text"] for r in row.get("raw") or []},
        parse_error=None,
    )


def upgrade_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of any schema version as a version-2 row: annotation values a version-1 row kept as floats in
    `checks` move to their typed columns; absent annotation columns are null."""
    types = dict(ANNOTATIONS)
    moved = [c for c in row.get("checks") or [] if c["name"] in types]
    for name in ANNOTATION_COLUMNS:
        row.setdefault(name, None)
    if moved:
        for c in moved:
            row[c["name"]] = bool(c["value"]) if types[c["name"]] == pa.bool_() else c["value"]
        row["checks"] = [c for c in row["checks"] if c["name"] not in types]
    return row


def rows_to_table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=SCHEMA)


def validate_table(table: pa.Table) -> None:
    """Raise if a table does not have exactly the shared schema (names and types)."""
    if not table.schema.equals(SCHEMA, check_metadata=False):
        raise ValueError(f"table schema differs from the record schema:\n{table.schema}\n!=\n{SCHEMA}")
