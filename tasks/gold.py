"""tasks.gold: one task per gold table, and BuildGold, the main entry point.

Daily tables have one partition per (subject, local day); period tables (summary, AGP, episodes)
one per (subject, period). The sequential metrics (iglu's grid: MAGE, MODD, CONGA, episodes, AGP,
active percent) run on Polars frames read from silver here, then enter the pure Ibis transforms
as in-memory tables.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import luigi
import polars as pl

from lake import lineage
from lake.metrics.subject import (
    SubjectSeries, agp_by_subject, daily_active_percent, episodes_by_subject, grid_metrics_by_subject,
    series_by_subject,
)
from lake.transforms.gold.agp import agp
from lake.transforms.gold.daily_glucose import daily_glucose
from lake.transforms.gold.daily_treatments import daily_treatments
from lake.transforms.gold.glucose_episodes import glucose_episodes
from lake.transforms.gold.glucose_summary import glucose_summary, in_period
from tasks import silver
from tasks.base import check_period
from tasks.tables import Period, TableTask


class DailyGoldTask(TableTask):
    day_column = "day"
    reach = 2

    def readings_of(self, table: str, stale) -> ir.Table:
        return self.read(table).semi_join(
            self.partition_filter(stale, column="local_day"), ["subject_id", "local_day"])


class BuildDailyGlucose(DailyGoldTask):
    table = "gold.daily_glucose"
    version = "2"  # 2: period_active_pct, the CGM's coverage of the day

    def requires(self):
        return silver.BuildGlucoseReadings(start=self.start, end=self.end)

    def build(self, stale):
        readings = self.readings_of("silver.glucose_readings", stale)
        active = daily_active_percent(
            readings.select("subject_id", "local_day", "local_ts", "utc_offset_min").to_polars())
        return daily_glucose(readings, ibis.memtable(active.to_arrow()))


class BuildDailyTreatments(DailyGoldTask):
    table = "gold.daily_treatments"

    def requires(self):
        return [silver.BuildInsulinBoluses(start=self.start, end=self.end),
                silver.BuildCarbIntakes(start=self.start, end=self.end)]

    def build(self, stale):
        return daily_treatments(self.readings_of("silver.insulin_boluses", stale),
                                self.readings_of("silver.carb_intakes", stale))


# The three period tables are made from the same readings, cleaned and interpolated the same way,
# and a daily run builds them one after another in one process (with one worker, Luigi runs tasks
# in its own process). So the last series made are kept until the other period tables have used
# them, keyed by the period and the raw content behind each partition: an equal key means equal
# readings. Worth about 3 s per table at 50 subject-years; bounded so a large lake never holds
# gigabytes: key -> (series, the tables that used them).
_shared_series: dict[tuple, tuple[dict[str, SubjectSeries], set[str]]] = {}
MAX_SHARED_READINGS = 10_000_000  # about 250 MB of series


class PeriodGoldTask(TableTask):
    day_column = None
    reach = 2

    def requires(self):
        return silver.BuildGlucoseReadings(start=self.start, end=self.end)

    def readings(self, stale) -> ir.Table:
        subjects = [p.subject_id for p in stale]
        t = in_period(self.read("silver.glucose_readings"), self.start, self.end)
        return t.filter(t.subject_id.isin(subjects))

    def frame(self, stale) -> pl.DataFrame:
        # Not ordered: the series sort each subject's readings by time themselves, and DuckDB's
        # sort of a subject-year table by (subject, time) took twice as long as reading it. The
        # table's own order stays: a scan keeps insertion order, so equal times resolve alike
        # from run to run.
        columns = ["subject_id", "local_ts", "glucose_mg_dl", "utc_offset_min"]  # offsets: a period's length
        return self.readings(stale).select(columns).to_polars()

    def series(self, stale) -> dict[str, SubjectSeries]:
        """Each stale subject's cleaned readings and grid over the period (see _shared_series)."""
        key = (self.start, self.end, frozenset(lineage.content_signatures(self.lake, list(stale)).items()))
        if key not in _shared_series:
            _shared_series.clear()
            series = series_by_subject(self.frame(stale))
            if sum(s.times.size for s in series.values()) > MAX_SHARED_READINGS:
                return series
            _shared_series[key] = (series, set())
        series, used_by = _shared_series[key]
        used_by.add(self.table)
        if used_by >= {task.table for task in PERIOD_TASKS}:
            del _shared_series[key]  # every period table has them: free the memory
        return series


class BuildGlucoseSummary(PeriodGoldTask):
    table = "gold.glucose_summary"
    # 2: MAGE's moving means as R's (exactly equal windows, no spurious crossing); 3: how much data
    # stands behind the numbers (days_with_readings, period_active_pct, sufficient_data)
    version = "3"

    def build(self, stale):
        grid = grid_metrics_by_subject(self.series(stale), period_days=(self.end - self.start).days + 1)
        return glucose_summary(self.readings(stale), ibis.memtable(grid.to_arrow()), self.start, self.end)


class BuildAgp(PeriodGoldTask):
    table = "gold.agp"

    def build(self, stale):
        return agp(ibis.memtable(agp_by_subject(self.series(stale)).to_arrow()), self.start, self.end)


class BuildGlucoseEpisodes(PeriodGoldTask):
    table = "gold.glucose_episodes"
    version = "2"  # 2: UTC times from the readings at each end (the repeated hour of autumn's change)

    def build(self, stale):
        return glucose_episodes(ibis.memtable(episodes_by_subject(self.series(stale)).to_arrow()),
                                self.start, self.end)


PERIOD_TASKS = [BuildGlucoseSummary, BuildAgp, BuildGlucoseEpisodes]
TASKS = [BuildDailyGlucose, BuildDailyTreatments, *PERIOD_TASKS]


class BuildSilver(luigi.WrapperTask):
    """Every silver table for the local days [start, end]."""

    start = Period.start
    end = Period.end

    def requires(self):
        check_period(self.start, self.end)
        return [cls(start=self.start, end=self.end) for cls in silver.TASKS]
