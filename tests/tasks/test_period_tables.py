"""The three period tables (summary, AGP, episodes) share one reading of silver per process."""

from __future__ import annotations

from datetime import date

import luigi

import tasks.gold
from lake import catalog
from lake.config import Settings


def build(task) -> None:
    assert luigi.build([task], local_scheduler=True, workers=1, log_level="WARNING")


def test_period_tables_read_and_interpolate_the_readings_once_per_period(in_process_lake, monkeypatch):
    made = []

    def counted(frame):
        made.append(sorted(frame["subject_id"].unique()))
        return series_by_subject(frame)

    series_by_subject = tasks.gold.series_by_subject
    monkeypatch.setattr(tasks.gold, "series_by_subject", counted)
    monkeypatch.setattr(tasks.gold, "_shared_series", {})
    period = {"start": date(2024, 3, 2), "end": date(2024, 3, 3)}
    for table in (tasks.gold.BuildGlucoseSummary, tasks.gold.BuildAgp, tasks.gold.BuildGlucoseEpisodes):
        build(table(**period))
    assert made == [["demo-ana", "demo-ben", "demo-cleo"]]
    assert tasks.gold._shared_series == {}  # every period table has used them: memory freed
    build(tasks.gold.BuildAgp(start=date(2024, 3, 2), end=date(2024, 3, 4)))  # another period
    assert len(made) == 2
    lake = catalog.connect(Settings.from_env(in_process_lake), read_only=True)
    counts = {t: lake.con.execute(f"SELECT count(DISTINCT subject_id) FROM lake.gold.{t} WHERE period_end = ?",
                                  [period["end"]]).fetchone()[0]
              for t in ("glucose_summary", "agp")}
    assert counts == {"glucose_summary": 3, "agp": 3}


def test_a_large_lake_does_not_keep_its_series_between_tasks(in_process_lake, monkeypatch):
    monkeypatch.setattr(tasks.gold, "_shared_series", {})
    monkeypatch.setattr(tasks.gold, "MAX_SHARED_READINGS", 100)
    build(tasks.gold.BuildAgp(start=date(2024, 3, 2), end=date(2024, 3, 3)))
    assert tasks.gold._shared_series == {}
