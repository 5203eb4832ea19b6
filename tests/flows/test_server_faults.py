"""Server faults through the real CLI (`synth generate`) against the fault server on 127.0.0.1: a 400 for one
request rejects that record with the server's reason and the run goes on; a shard whose every request got a 200
without choices is not saved, and the rerun retries it while the finished shard stays untouched."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from fault_server import FaultServer, sentence_answer
from tiny_recipe import write_stub
from typer.testing import CliRunner

LINES = [
    "A man is riding a horse along the beach.",
    "OVERLONG a woman is reading a very long book in the park.",
    "GATEWAY two children are playing football in the yard.",
    "GATEWAY an old man is feeding pigeons near the fountain.",
]


@pytest.mark.slow
def test_per_request_faults_are_rejects_and_a_failed_shard_is_retried_by_the_rerun(tmp_path):
    from flows.cli import app

    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    run = tmp_path / "run"
    with FaultServer(rules=[("OVERLONG", "400"), ("GATEWAY", "nochoices")], answer=sentence_answer) as srv:
        path = write_stub(
            tmp_path / "r.toml",
            run,
            srv.url,
            name="faults",
            corpus={"path": corpus.as_posix(), "shard_size": 2},
            max_retries=1,
            backoff_s=0.01,
            backoff_max_s=0.02,
            timeout_s=5,
            concurrency=2,
        )
        first = CliRunner().invoke(app, ["generate", str(path)])
        shards = sorted((run / "generated" / "pairs").glob("shard-*.parquet"))
        assert first.exit_code == 1, first.output
        assert "all 4 requests failed" in " ".join(first.output.split())  # the user is told, once, why
        assert len(shards) == 1  # the shard with a 400 is finished; the all-failed one is not saved
        rows = pq.read_table(shards[0]).to_pylist()
        assert [r["kept"] for r in rows] == [True, False]
        assert rows[1]["reason"].startswith("parse:http_400@") and "maximum context length" in rows[1]["reason"]
        mtime = shards[0].stat().st_mtime_ns

        srv.rules = [("OVERLONG", "400")]  # the gateway recovered
        second = CliRunner().invoke(app, ["generate", str(path)])
        assert second.exit_code == 0, second.output
    shards = sorted((run / "generated" / "pairs").glob("shard-*.parquet"))
    assert len(shards) == 2 and shards[0].stat().st_mtime_ns == mtime  # finished work kept, not redone
    assert [r["kept"] for r in pq.read_table(shards[1]).to_pylist()] == [True, True]
