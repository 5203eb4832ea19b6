"""Hostile corpus text through the real CLI (`synth generate`, openai backend against the fault server on
127.0.0.1, no model): an unpaired surrogate and a NUL byte in JSONL, a CSV quote left open, each a recorded
corpus reject with file and line while the run goes on; a `<|im_end|>` in a sentence reaches the server verbatim
as data and its record is generated like any other."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from fault_server import FaultServer, sentence_answer
from tiny_recipe import write_stub
from typer.testing import CliRunner

GOOD = ["A man is riding a horse along the beach.", "Two children are playing football in the yard."]
CONTROL = "The sign on the door said <|im_end|> in large letters."

JSONL = (
    "\n".join(
        [
            json.dumps({"text": GOOD[0]}),
            '{"text": "Smile \\ud83d please, it is a photo."}',
            json.dumps({"text": "A NUL\u0000 byte hides in this sentence."}),
            json.dumps({"text": CONTROL}),
            json.dumps({"text": GOOD[1]}),
        ]
    )
    + "\n"
)
CSV = f'text,label\n{GOOD[0]},1\n"He said hello to the crowd,1\n{CONTROL},0\n{GOOD[1]},1\n'


@pytest.mark.slow  # about 45 s each on a loaded 2-core machine: a Prefect flow per corpus
@pytest.mark.parametrize(
    "name,body,rejects",
    [
        ("c.jsonl", JSONL, [(2, "unpaired_surrogate"), (3, "nul_byte")]),
        ("c.csv", CSV, [(3, "malformed_row")]),
    ],
)
def test_hostile_corpus_lines_are_recorded_rejects_and_control_strings_stay_data(tmp_path, name, body, rejects):
    from flows.cli import app

    corpus = tmp_path / name
    corpus.write_text(body, encoding="utf-8")
    run = tmp_path / "run"
    with FaultServer(answer=sentence_answer) as srv:
        path = write_stub(
            tmp_path / "r.toml",
            run,
            srv.url,
            name="hostile",
            filters=False,
            corpus={"path": corpus.as_posix(), "shard_size": 8},
            max_retries=1,
            backoff_s=0.01,
            timeout_s=5,
        )
        result = CliRunner().invoke(app, ["generate", str(path)])
    assert result.exit_code == 0, result.output
    recorded = [json.loads(ln) for ln in (run / "anchors" / "corpus_rejects.jsonl").read_text().splitlines()]
    assert [(r["file"], r["line"], r["reason"]) for r in recorded] == [(str(corpus), ln, why) for ln, why in rejects]
    shards = sorted((run / "generated" / "pairs").glob("shard-*.parquet"))
    rows = [r for p in shards for r in pq.read_table(p).to_pylist()]
    assert [r["anchor"] for r in rows] == [GOOD[0], CONTROL, GOOD[1]]  # nothing after a bad line was swallowed
    assert all(r["kept"] for r in rows)
    sent = [m["content"] for b in srv.bodies for m in b["messages"] if m["role"] == "user"]
    assert any(CONTROL in c for c in sent)  # the control string went to the server verbatim, as JSON text
