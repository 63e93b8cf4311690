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
    # meta.run_log: the upstream runs done, this one failed with the message Luigi shows
    runs = dict(lake.con.execute("SELECT task_family, list(status ORDER BY finished_at) FROM lake.meta.run_log "
                                 "WHERE started_at <= finished_at GROUP BY 1").fetchall())
    assert runs["BuildDailyGlucose"] == ["failed"] and runs["BuildGlucoseReadings"] == ["done"]
    (message,) = lake.con.execute("SELECT message FROM lake.meta.run_log WHERE status = 'failed'").fetchone()
    assert message.startswith("CheckFailed: check check_gold_daily_glucose_no_day_is_allowed (hard)")


RAW_VS_BRONZE = "check_bronze_quarantine_every_raw_document_in_bronze_or_quarantine"
SILVER_VS_BRONZE = "check_silver_glucose_readings_come_from_bronze_entries"


def recorded_results(env: dict[str, str], *names: str) -> list[tuple]:
    lake = catalog.connect(Settings.from_env(env), read_only=True)
    return lake.con.execute("SELECT check_name, passed, n_offending FROM lake.meta.check_results "
                            "WHERE list_contains(?, check_name) ORDER BY 1", [list(names)]).fetchall()


def test_the_reconciliation_checks_run_in_the_tasks_that_complete_them(in_process_lake):
    day = date(2024, 3, 2)
    assert luigi.build([tasks.bronze.BuildBronzeQuarantine(start=day, end=day),
                        tasks.silver.BuildGlucoseReadings(start=day, end=day)],
                       local_scheduler=True, workers=1, log_level="WARNING")
    assert recorded_results(in_process_lake, RAW_VS_BRONZE, SILVER_VS_BRONZE) == [
        (RAW_VS_BRONZE, True, 0), (SILVER_VS_BRONZE, True, 0)]


def test_a_document_lost_between_raw_and_bronze_fails_the_quarantine_task(in_process_lake, monkeypatch):
    typed = tasks.bronze.entries

    def entries_losing_three_am(raw, batches):  # a transform bug: readings of 03:00-03:59 UTC vanish
        t = typed(raw, batches)
        return t.filter(t.reading_ts.hour() != 3)

    monkeypatch.setattr(tasks.bronze, "entries", entries_losing_three_am)
    day = date(2024, 3, 2)
    task = tasks.bronze.BuildBronzeQuarantine(start=day, end=day)
    failures: list[BaseException] = []
    task.event_handler(luigi.Event.FAILURE)(lambda t, exc: failures.append(exc))
    assert not luigi.build([task], local_scheduler=True, workers=1, log_level="WARNING")
    (failure,) = failures
    assert isinstance(failure, checks.CheckFailed)
    assert f"check {RAW_VS_BRONZE} (hard) on bronze.quarantine:" in str(failure)
    assert "entries" in str(failure) and "demo-ana" in str(failure)  # the lost documents are shown
    ((name, passed, n_offending),) = recorded_results(in_process_lake, RAW_VS_BRONZE)
    assert not passed and n_offending > 0
