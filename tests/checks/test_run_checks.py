"""run_checks on a real lake: rebuilt rows are checked a group of subjects at a time, and a check
across subjects (freshness) still sees every subject at once."""

from __future__ import annotations

from datetime import date

import polars as pl
import pyarrow as pa
import pytest

from lake import catalog, checks
from lake.checks.silver import stale_subjects


@pytest.fixture
def rows_table(lake, monkeypatch):
    """gold.daily_glucose-shaped enough for two registered test checks: 4 subjects x 2 days,
    with a negative value for subjects a and d, and subject c 10 days behind the others."""
    catalog.raw_connection(lake).execute(
        "CREATE TABLE lake.gold.test_rows AS SELECT * FROM (VALUES "
        "('a', DATE '2024-03-10', -1.0), ('a', DATE '2024-03-11', 5.0), "
        "('b', DATE '2024-03-10', 5.0), ('b', DATE '2024-03-11', 5.0), "
        "('c', DATE '2024-03-01', 5.0), ('c', DATE '2024-03-02', 5.0), "
        "('d', DATE '2024-03-10', 5.0), ('d', DATE '2024-03-11', -2.0)) v(subject_id, day, value)")
    monkeypatch.setitem(checks.CHECKS, "gold.test_rows", [
        checks.Check("gold.test_rows", "check_gold_test_rows_value_positive", "hard",
                     lambda df: df.filter(pl.col("value") < 0)),
        checks.Check("gold.test_rows", "check_gold_test_rows_subject_fresh", "soft",
                     lambda df: stale_subjects(df, "day", "newest_day"), across_subjects=("day",)),
    ])
    monkeypatch.setattr(checks, "PARTITIONS_PER_CHECK", 2)  # one subject per group
    return lake


def run(lake) -> list:
    partitions = pa.table({"subject_id": list("aabbccdd"),
                           "day": [date(2024, 3, d) for d in (10, 11, 10, 11, 1, 2, 10, 11)]})
    recorded = []

    def work(con):
        con.register("_partitions", partitions)
        try:
            checks.run_checks(con, "gold.test_rows", ["subject_id", "day"], "task-1")
        finally:
            con.unregister("_partitions")

    with pytest.raises(checks.CheckFailed) as failed:
        catalog.in_transaction(lake, work)
    recorded.extend(failed.value.results)
    return recorded


def test_offending_rows_of_every_group_are_reported_together(rows_table):
    results = {c.name: bad for c, bad in run(rows_table)}
    bad = results["check_gold_test_rows_value_positive"].sort("subject_id")
    assert bad["subject_id"].to_list() == ["a", "d"]
    assert bad["value"].to_list() == [-1.0, -2.0]


def test_a_check_across_subjects_sees_every_subject_at_once(rows_table):
    # Group by group, subject c would be the newest of its own group and never look behind.
    results = {c.name: bad for c, bad in run(rows_table)}
    stale = results["check_gold_test_rows_subject_fresh"]
    assert stale["subject_id"].to_list() == ["c"]
    assert stale["newest_day"].to_list() == [date(2024, 3, 2)]
