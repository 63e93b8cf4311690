"""A changed transform (its table's version bumped) rebuilds its table and everything made from it."""

from __future__ import annotations

from datetime import date

import luigi

import tasks.gold
import tasks.silver
from tests.tasks.conftest import fresh_process_state

DAY = {"start": date(2024, 3, 2), "end": date(2024, 3, 2)}


def test_bumping_a_silver_version_makes_its_gold_tables_stale_and_leaves_the_others(in_process_lake, monkeypatch):
    assert luigi.build([tasks.gold.BuildDailyTreatments(**DAY), tasks.gold.BuildDailyGlucose(**DAY)],
                       local_scheduler=True, workers=1, log_level="WARNING")
    fresh_process_state()
    assert tasks.gold.BuildDailyTreatments(**DAY).complete()

    monkeypatch.setattr(tasks.silver.BuildInsulinBoluses, "version", "bumped")
    fresh_process_state()
    assert tasks.silver.BuildInsulinBoluses(**DAY).stale()
    assert tasks.gold.BuildDailyTreatments(**DAY).stale()  # made from insulin boluses
    assert not tasks.silver.BuildCarbIntakes(**DAY).stale()  # its sibling is not
    assert not tasks.gold.BuildDailyGlucose(**DAY).stale()  # nor another branch
