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
    original = lineage._raw_versions
    monkeypatch.setattr(lineage, "_raw_versions", lambda *args: computed.append(args) or original(*args))
    parts = lineage.day_partitions(["s"], [DAY], reach=1)
    add_version(lake, "first", "2024-03-05 00:00:00+00")
    first = lineage.signatures(lake, "silver.t", "1", parts)
    assert lineage.signatures(lake, "silver.t", "1", parts) == first and len(computed) == 1
    other_table = lineage.signatures(lake, "gold.t", "1", parts)
    assert other_table != first and len(computed) == 1  # raw versions are shared by every table
    add_version(lake, "second", "2024-03-06 00:00:00+00")  # the day was fetched again, new content
    second = lineage.signatures(lake, "silver.t", "1", parts)
    assert second != first and len(computed) == 2
    add_version(lake, "first", "2024-03-07 00:00:00+00")  # ... and back to what it was
    assert lineage.signatures(lake, "silver.t", "1", parts) == first
    assert lineage.content_signatures(lake, parts) != first  # not tied to a table


def test_each_lake_has_its_own_signatures(tmp_path, lake):
    other = catalog.connect(Settings.from_env(embedded_env(tmp_path / "other")))
    parts = lineage.day_partitions(["s"], [DAY], reach=0)
    add_version(lake, "first", "2024-03-05 00:00:00+00")
    other.con.execute("INSERT INTO lake.meta.raw_day_versions VALUES "
                      f"('s', DATE '{DAY}', 'entries', 'else', 1, 'b', TIMESTAMPTZ '2024-03-05 00:00:00+00')")
    assert lineage.signatures(lake, "t", "1", parts) != lineage.signatures(other, "t", "1", parts)
    other.con.close()
