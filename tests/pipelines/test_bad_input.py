"""Bad input and faults: broken corpus files, unparsable LLM output and a backend that dies mid-run each
give a clear error naming the file/line/setting or a recorded rejection, and lose nothing finished."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from doubles import ScriptedBackend

from pipelines.corpus import CorpusError, read_corpus
from pipelines.executors import ExecutorSpec, run_jobs
from pipelines.schema import SCHEMA
from pipelines.shards import shard_path
from pipelines.stage import ShardJob, run_shard
from synth.backends import _CACHE, BACKENDS, BackendError, BackendSpec
from synth.backends.base import Sampling
from synth.records import Anchor
from synth.tasks.pairs import PairsSpec

GOOD = ["A man is playing a guitar on stage.", "Two dogs run through the snow.", "A woman reads a newspaper."]


# ---------------------------------------------------------------- corpus files


def test_invalid_utf8_lines_are_rejects_with_their_line_number(tmp_path):
    p = tmp_path / "c.txt"
    p.write_bytes(GOOD[0].encode() + b"\n" + b"Caf\xe9 au lait is served at noon.\n" + GOOD[1].encode() + b"\n")
    c = read_corpus(str(p))
    assert [a.text for a in c.anchors] == GOOD[:2:] and [a.line for a in c.anchors] == [1, 3]
    assert [(r.line, r.reason) for r in c.rejects] == [(2, "invalid_utf8")] and "Caf" in c.rejects[0].preview


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_invalid_utf8_in_jsonl_and_csv(tmp_path, suffix):
    p = tmp_path / f"c{suffix}"
    bad = "Caf\udce9 au lait is served at noon."  # \xe9 byte, escaped so it can be written
    if suffix == ".jsonl":
        lines = [json.dumps({"text": GOOD[0]}), '{"text": "' + bad + '"}', json.dumps({"text": GOOD[1]})]
    else:
        lines = ["text", GOOD[0], bad, GOOD[1]]
    p.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape") + b"\n")
    c = read_corpus(str(p))
    assert [a.text for a in c.anchors] == GOOD[:2]
    assert [r.reason for r in c.rejects] == ["invalid_utf8"] and "\ufffd" not in " ".join(a.text for a in c.anchors)


def test_empty_whitespace_crlf_bom_and_a_1mb_line(tmp_path):
    huge = "word " * 200_000  # 1 MB on one line
    body = "\ufeff" + GOOD[0] + "\r\n\r\n   \t \r\n" + huge + "\r\n" + GOOD[1] + "\r\n" + GOOD[2]
    crlf, lf = tmp_path / "crlf.txt", tmp_path / "lf.txt"
    crlf.write_bytes(body.encode("utf-8"))
    lf.write_text("\n".join(GOOD), encoding="utf-8")
    c = read_corpus(str(crlf))
    assert [a.text for a in c.anchors] == GOOD  # no \r, no BOM, blank lines skipped
    assert [a.id for a in c.anchors] == [a.id for a in read_corpus(str(lf)).anchors]  # same ids as LF
    assert [a.line for a in c.anchors] == [1, 5, 6]
    assert [(r.line, r.reason) for r in c.rejects] == [(4, "too_long")] and len(c.rejects[0].preview) <= 60


def test_a_1mb_csv_cell_is_a_reject_not_a_crash(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("id,text\n1," + GOOD[0] + "\n2," + "x" * 1_000_000 + "\n3," + GOOD[1] + "\n", encoding="utf-8")
    c = read_corpus(str(p))
    assert [a.text for a in c.anchors] == GOOD[:2] and [(r.line, r.reason) for r in c.rejects] == [(3, "too_long")]


def test_missing_file_unsupported_extension_wrong_column_and_nothing_usable(tmp_path):
    with pytest.raises(CorpusError, match=r"not found: .*nope\.txt \(corpus\.path\)"):
        read_corpus(str(tmp_path / "nope.txt"))
    (tmp_path / "c.docx").write_text("x")
    with pytest.raises(
        CorpusError,
        match=r"c\.docx: unsupported extension '\.docx' \(corpus\.path\); supported: "
        r"\.txt, \.jsonl",
    ):
        read_corpus(str(tmp_path / "c.docx"))
    (tmp_path / "c.csv").write_text("sentence\nA man is playing a guitar.\n")
    with pytest.raises(CorpusError, match=r"no column 'text' \(columns: \['sentence'\]\); set corpus.text_field"):
        read_corpus(str(tmp_path / "c.csv"))
    (tmp_path / "blank.txt").write_text("\n  \n\r\n")
    with pytest.raises(CorpusError, match=r"blank\.txt: no usable sentence"):
        read_corpus(str(tmp_path / "blank.txt"))


@pytest.mark.slow  # a real (failing) flow run: the first one in a session starts Prefect's temporary server
def test_synth_generate_on_a_missing_corpus_exits_with_the_setting(tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    recipe = tmp_path / "r.toml"
    recipe.write_text(
        f'name = "bad"\noutput_dir = "{tmp_path / "run"}"\n[corpus]\npath = "{tmp_path / "gone.txt"}"\n'
        "[sampling]\nmax_tokens = 8\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(app, ["generate", str(recipe)])
    text = " ".join(res.output.split())  # rich wraps the CLI's line; Prefect's own log lines may surround it
    assert res.exit_code == 1
    assert f"error: corpus file not found: {tmp_path / 'gone.txt'} (corpus.path)" in text


# ---------------------------------------------------------------- LLM output


class ScriptedSpec(BackendSpec):
    """A registry entry for the scripted double, so shards run through the real `run_shard` path."""

    backend: str = "scripted"


SCRIPTS = {}


@pytest.fixture
def scripted(monkeypatch):
    monkeypatch.setitem(BACKENDS, "scripted", (ScriptedSpec, lambda spec: ScriptedBackend(SCRIPTS[spec.model])))

    def make(name, script):
        SCRIPTS[name] = script
        return ScriptedSpec(model=name)

    return make


def _job(tmp_path, backend, task, anchors, index=0):
    return ShardJob(
        index=index,
        out_path=str(shard_path(tmp_path / "gen", index, f"k{index}")),
        task=task,
        backend=backend,
        sampling=Sampling(max_tokens=32),
        seed=13,
        recipe_hash="h",
        anchors=tuple(Anchor(a) for a in anchors),
    )


BROKEN = {  # anchor -> what the "LLM" answers (json mode: one request per record)
    "A man is playing a guitar on stage.": "",
    "Two dogs run through the snow.": '{"positive": "Two dogs play in the sn',
    "A woman reads a newspaper.": "Sure! Here is a paraphrase: A woman is reading the news.",
    "A child climbs a tall tree.": '["A kid climbs a tree.", "A child sits."]',
    "The chef slices fresh tomatoes.": '{"positive": "A cook cuts tomatoes.", "negative": 7}',
    "A bird sings on a branch.": '```json\n{"positive": "A bird is singing.", "negative": "A bird is silent."}\n```',
}


def test_empty_truncated_and_non_json_output_are_recorded_rejections(tmp_path, scripted):
    spec = scripted("broken-json", lambda r: BROKEN[r.meta["anchor"].text])
    res = run_shard(_job(tmp_path, spec, PairsSpec(output="json"), list(BROKEN)))
    table = pq.read_table(res.path)
    assert table.schema.equals(SCHEMA, check_metadata=False)
    rows = {r["anchor"]: r for r in table.to_pylist()}
    assert len(rows) == len(BROKEN) and res.records == 6 and res.parse_rejects == 5  # nothing dropped silently
    reasons = {a: r["reason"] for a, r in rows.items()}
    assert reasons == {
        "A man is playing a guitar on stage.": "parse:json_empty",
        "Two dogs run through the snow.": "parse:json_truncated_json",
        "A woman reads a newspaper.": "parse:json_not_json",
        "A child climbs a tall tree.": "parse:json_not_json",
        "The chef slices fresh tomatoes.": "parse:negative_empty",
        "A bird sings on a branch.": None,  # fenced JSON is still JSON
    }
    for r in rows.values():  # the raw output is kept for every rejection
        assert r["raw"][0]["text"] == BROKEN[r["anchor"]]
        assert r["kept"] is (r["reason"] is None)


def test_empty_and_label_only_text_output(tmp_path, scripted):
    answers = {"positive": "", "negative": "Contradiction:"}
    spec = scripted("empty-text", lambda r: answers[r.meta["role"]])
    res = run_shard(_job(tmp_path, spec, PairsSpec(exemplars=0), GOOD))
    rows = pq.read_table(res.path).to_pylist()
    assert len(rows) == 3 and all(r["reason"] == "parse:positive_empty" for r in rows)


# ---------------------------------------------------------------- a backend that dies mid-run


def test_a_backend_failure_mid_run_keeps_finished_shards_and_a_rerun_completes(tmp_path, scripted):
    calls = {"n": 0}

    def flaky(r):
        if r.meta["anchor"].text.startswith("Two dogs"):
            raise BackendError("connection refused: http://127.0.0.1:9/v1 (generator.base_url)")
        return "A paraphrase of the sentence."

    spec = scripted("flaky", flaky)
    jobs = [_job(tmp_path, spec, PairsSpec(exemplars=0), [a], index=i) for i, a in enumerate(GOOD)]
    with pytest.raises(BackendError, match="connection refused"):
        run_jobs(jobs, ExecutorSpec())
    assert sorted(p.name for p in (tmp_path / "gen").glob("shard-*")) == ["shard-00000-k0.parquet"]
    first = (tmp_path / "gen" / "shard-00000-k0.parquet").stat().st_mtime_ns

    def healed(r):
        calls["n"] += 1
        return "A paraphrase of the sentence."

    SCRIPTS["flaky"] = healed  # the server is back; same spec, same cached backend instance
    _CACHE.pop(spec.model_dump_json(), None)  # a fresh client, as a new process would build
    results = run_jobs(jobs, ExecutorSpec())
    assert [r.skipped for r in results] == [True, False, False] and calls["n"] == 4  # only the 2 missing shards
    assert (tmp_path / "gen" / "shard-00000-k0.parquet").stat().st_mtime_ns == first
    ids = [i for p in sorted((tmp_path / "gen").glob("shard-*")) for i in pq.read_table(p).column("id").to_pylist()]
    assert len(ids) == 3 == len(set(ids))
    assert not list((tmp_path / "gen").glob(".tmp-*"))
    assert isinstance(pa.concat_tables([pq.read_table(p) for p in (tmp_path / "gen").glob("shard-*")]), pa.Table)


# ---------------------------------------------------------------- a shard from before the annotation columns


def test_a_shard_written_before_the_annotation_columns_is_still_finished(tmp_path, scripted, monkeypatch):
    """Curate's typed annotation columns (schema v2) are not generation's: a shard generated by the previous
    version keeps its plan key and is not regenerated, and curate reads it."""
    import pipelines.plan as plan
    import pipelines.schema as schema
    from pipelines.curate import load_rows

    spec = scripted("old-shard", lambda r: "A paraphrase of the sentence.")
    job = _job(tmp_path, spec, PairsSpec(exemplars=0), GOOD)
    done = run_shard(job)
    old = pq.read_table(done.path).drop_columns(list(schema.ANNOTATION_COLUMNS))  # as version 1 wrote it
    pq.write_table(old, done.path)
    before = Path(done.path).stat().st_mtime_ns
    assert plan.pending_jobs([job]) == [] and Path(done.path).exists()  # not set aside as broken
    assert run_shard(job).skipped and Path(done.path).stat().st_mtime_ns == before
    assert [r["anchor"] for r in load_rows([Path(done.path)])] == GOOD

    anchors = tmp_path / "anchors.parquet"
    pq.write_table(pa.Table.from_pylist([{"text": t, "source": "s", "line": i} for i, t in enumerate(GOOD)]), anchors)
    keyed = [
        plan.plan_task_jobs(PairsSpec(), [anchors], spec, Sampling(max_tokens=8), 13, "h", tmp_path / "g")[0].out_path
    ]
    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    monkeypatch.setattr(plan, "SCHEMA_VERSION", schema.SCHEMA_VERSION, raising=False)
    keyed.append(
        plan.plan_task_jobs(PairsSpec(), [anchors], spec, Sampling(max_tokens=8), 13, "h", tmp_path / "g")[0].out_path
    )
    assert keyed[0] == keyed[1]  # a new dataset schema does not re-key (re-generate) finished shards
