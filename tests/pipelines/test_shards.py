import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.shards import clean_partials, finished_shards, shard_key, shard_path, write_table_atomic


def test_atomic_write_leaves_no_temp_and_a_readable_shard(tmp_path):
    path = shard_path(tmp_path, 3, shard_key("x"))
    write_table_atomic(pa.table({"a": [1, 2]}), path)
    assert path.name.startswith("shard-00003-") and pq.read_table(path).num_rows == 2
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_failed_write_leaves_nothing_visible(tmp_path):
    class Boom(pa.Table.__class__):
        pass

    with pytest.raises(AttributeError):  # pyarrow: 'str' object has no attribute 'schema'
        write_table_atomic("not a table", tmp_path / "shard-00000-k.parquet")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_partials_from_a_killed_run_are_cleaned_and_never_listed(tmp_path):
    (tmp_path / ".tmp-abc.parquet").write_bytes(b"half")
    write_table_atomic(pa.table({"a": [1]}), tmp_path / "shard-00000-k.parquet")
    assert [p.name for p in finished_shards(tmp_path)] == ["shard-00000-k.parquet"]
    assert clean_partials(tmp_path) == 1
    assert not (tmp_path / ".tmp-abc.parquet").exists()


def test_shard_key_depends_on_every_input():
    assert shard_key("a", [1, 2]) == shard_key("a", [1, 2])
    assert shard_key("a", [1, 2]) != shard_key("a", [2, 1])
