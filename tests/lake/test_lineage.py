"""lake.lineage: signatures follow raw content, and are remembered only while raw is unchanged."""

from __future__ import annotations

from datetime import date

from lake import catalog, lineage
from lake.config import Settings
from tests.conftest import embedded_env

DAY = date(2024, 3, 2)


def add_version(lake, content_hash: str, committed_at: str) -> None:
    lake.con.execute("INSERT INTO lake.meta.raw_day_versions VALUES "
                     f"('s', DATE '{DAY}', 'entries', '{content_hash}', 1, 'b', TIMESTAMPTZ '{committed_at}')")


def test_signatures_change_with_the_raw_content_and_are_remembered_until_then(lake, monkeypatch):
    computed = []
    original = lineage._content_signatures
    monkeypatch.setattr(lineage, "_content_signatures", lambda *args: computed.append(args) or original(*args))
    parts = lineage.day_partitions(["s"], [DAY], reach=1)
    add_version(lake, "first", "2024-03-05 00:00:00+00")
    first = lineage.signatures(lake, "1", parts)
    assert lineage.signatures(lake, "1", parts) == first and len(computed) == 1
    # Every table of a layer (same partitions) shares the work; the code version is part of it.
    next_version = lineage.signatures(lake, "2", parts)
    assert next_version != first and len(computed) == 1
    assert next_version[parts[0]].removeprefix("2:") == first[parts[0]].removeprefix("1:")
    add_version(lake, "second", "2024-03-06 00:00:00+00")  # the day was fetched again, new content
    second = lineage.signatures(lake, "1", parts)
    assert second != first and len(computed) == 2
    add_version(lake, "first", "2024-03-07 00:00:00+00")  # ... and back to what it was
    assert lineage.signatures(lake, "1", parts) == first


def test_a_partition_is_stale_until_built_with_its_current_signature_and_version(lake):
    parts = lineage.day_partitions(["s"], [DAY], reach=0)
    add_version(lake, "first", "2024-03-05 00:00:00+00")
    assert list(lineage.stale(lake, "silver.t", "1", parts)) == parts  # never built
    built = lineage.built_rows("silver.t", lineage.stale(lake, "silver.t", "1", parts))
    lake.con.register("_built", built)
    lake.con.execute("INSERT INTO lake.meta.built_partitions SELECT table_name, subject_id, part, signature, "
                     "now() FROM _built")
    assert lineage.stale(lake, "silver.t", "1", parts) == {}
    assert list(lineage.stale(lake, "gold.t", "1", parts)) == parts  # another table: its own record
    assert list(lineage.stale(lake, "silver.t", "2", parts)) == parts  # a new version of the code
    add_version(lake, "second", "2024-03-06 00:00:00+00")
    assert list(lineage.stale(lake, "silver.t", "1", parts)) == parts  # new raw content


def test_each_lake_has_its_own_signatures(tmp_path, lake):
    other = catalog.connect(Settings.from_env(embedded_env(tmp_path / "other")))
    parts = lineage.day_partitions(["s"], [DAY], reach=0)
    add_version(lake, "first", "2024-03-05 00:00:00+00")
    other.con.execute("INSERT INTO lake.meta.raw_day_versions VALUES "
                      f"('s', DATE '{DAY}', 'entries', 'else', 1, 'b', TIMESTAMPTZ '2024-03-05 00:00:00+00')")
    assert lineage.signatures(lake, "1", parts) != lineage.signatures(other, "1", parts)
    other.con.close()
