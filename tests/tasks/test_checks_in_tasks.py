"""A failing hard check fails the task that built the table: the rebuild is rolled back, the
message names the check and shows offending rows, and the result stays in meta.check_results."""

from __future__ import annotations

from datetime import date

import luigi
import polars as pl

import tasks
from lake import catalog, checks
from lake.config import Settings


def test_a_failing_hard_check_fails_the_task_and_rolls_the_rebuild_back(in_process_lake, monkeypatch):
    def check_gold_daily_glucose_no_day_is_allowed(df: pl.DataFrame) -> pl.DataFrame:
        return df.select("subject_id", "day", "mean_mg_dl")

    monkeypatch.setitem(checks.CHECKS, "gold.daily_glucose", [
        checks.Check("gold.daily_glucose", "check_gold_daily_glucose_no_day_is_allowed", "hard",
                     check_gold_daily_glucose_no_day_is_allowed)])
    task = tasks.gold.BuildDailyGlucose(start=date(2024, 3, 2), end=date(2024, 3, 2))
    failures: list[BaseException] = []
    task.event_handler(luigi.Event.FAILURE)(lambda t, exc: failures.append(exc))
    result = luigi.build([task], local_scheduler=True, workers=1, detailed_summary=True, log_level="WARNING")
    assert result.status == luigi.execution_summary.LuigiStatusCode.FAILED
    (failure,) = failures
    assert isinstance(failure, checks.CheckFailed)
    assert "check check_gold_daily_glucose_no_day_is_allowed (hard) on gold.daily_glucose: 3 offending row(s)" \
        in str(failure)
    assert "demo-ana" in str(failure)  # the offending rows are shown
    lake = catalog.connect(Settings.from_env(in_process_lake), read_only=True)
    assert not catalog.table_exists(lake, "gold.daily_glucose")  # rolled back
    recorded = lake.con.execute("SELECT passed, n_offending FROM lake.meta.check_results WHERE check_name = "
                                "'check_gold_daily_glucose_no_day_is_allowed'").fetchall()
    assert recorded == [(False, 3)]
