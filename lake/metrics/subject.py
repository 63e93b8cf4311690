"""All grid (sequential) metrics of a subject's readings at once, for gold tables.

Input: a Polars frame of readings with `subject_id`, `local_ts` (naive local wall-clock
datetime) and `glucose_mg_dl` (float, mg/dL), and optionally `utc_offset_min` (minutes; for the
real length of a period across a daylight-saving change, see `offset_changes`). Readings with
null glucose are dropped and of readings with the same timestamp the last is kept, as R iglu does
before building its grid.

When R iglu would stop with an error (fewer than two readings, or a median gap between readings
above 45 minutes so there is no usable grid), the grid metrics are null rather than an exception,
so one sparse subject does not fail a whole gold build. Null also stands for "not defined"
(e.g. MODD with a single day). Why not Ibis: see `grid.py`.

The `*_by_subject` functions take the frame, or its `series_by_subject` when several of them
work on the same readings (cleaning and interpolating a subject-year is then done once).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from .active import active_percents
from .agp import PERCENTILES, agp
from .episodes import COUNT_COLUMNS, EPISODE_SCHEMA, episode_counts, find_episodes, with_utc_offsets
from .grid import Grid, clean_readings, day_by_day
from .mage import MAGE_DT0, mage, mage_from_grid
from .variability import conga, modd

GRID_METRICS_SCHEMA = {
    "active_pct": pl.Float64,
    "period_active_pct": pl.Float64,
    "mage": pl.Float64,
    "modd": pl.Float64,
    "conga_24h": pl.Float64,
    **{column: pl.Int64 for column in COUNT_COLUMNS.values()},
}
AGP_SCHEMA = {
    "minute_of_day": pl.Int32,
    **{name: pl.Float64 for name in PERCENTILES},
    "n_days": pl.Int32,
}


@dataclass(frozen=True)
class SubjectSeries:
    """One subject's readings cleaned as R iglu cleans them, and its iglu grid (automatic dt0;
    None where R iglu would stop)."""

    times: np.ndarray
    glucose: np.ndarray
    offsets: np.ndarray  # each reading's UTC offset (minutes), beside `times`; 0 where unknown
    grid: Grid | None
    n_readings: int = 0  # the frame's readings with a glucose value, one per instant in silver
    offset_change_min: float = 0.0  # see offset_changes

    @cached_property
    def episodes(self) -> pl.DataFrame | None:
        """`find_episodes` of the grid, found once (the summary counts them, gold lists them)."""
        return None if self.grid is None else find_episodes(self.grid)


def subject_series(readings: pl.DataFrame) -> SubjectSeries:
    offsets = (readings["utc_offset_min"].fill_null(0).to_numpy() if "utc_offset_min" in readings.columns
               else np.zeros(readings.height, np.int32))
    times, glucose, offsets = clean_readings(readings["local_ts"].to_numpy(),
                                             readings["glucose_mg_dl"].to_numpy(), offsets)
    try:
        grid = day_by_day(times, glucose)
    except ValueError:  # too few readings, or readings too sparse for any grid step <= 45 min
        grid = None
    n_readings = readings.height - readings["glucose_mg_dl"].null_count()
    change = offset_changes(readings, []).get((), 0.0)  # no keys: one group, keyed ()
    return SubjectSeries(times, glucose, offsets, grid, n_readings, change)


def offset_changes(readings: pl.DataFrame, keys: list[str]) -> dict[tuple, float]:
    """Per group of `keys` (all rows with none): the UTC offset (minutes) of its latest local
    reading minus that of its earliest, -60 when clocks went back an hour in between (a 25-hour
    day), +60 when they went forward; the readings' offsets stand in for those at the period's
    ends. Empty without `utc_offset_min` or rows. One aggregation for all groups: per day, a
    subject-year's 18,000 small queries took 4 s."""
    if "utc_offset_min" not in readings.columns or readings.height == 0:
        return {}
    offset, local_ts = pl.col("utc_offset_min"), pl.col("local_ts")
    change = (offset.get(local_ts.arg_max()) - offset.get(local_ts.arg_min())).fill_null(0).alias("change")
    ends = readings.group_by(keys).agg(change) if keys else readings.select(change)
    return {row[:-1]: float(row[-1]) for row in ends.iter_rows()}


def series_by_subject(readings: pl.DataFrame) -> dict[str, SubjectSeries]:
    """Each subject's SubjectSeries, in the frame's order of subjects (the frame need not be sorted)."""
    return {sid: subject_series(part) for sid, part in _per_subject(readings)}


Readings = pl.DataFrame | Mapping[str, SubjectSeries]


def _series(readings: Readings) -> Mapping[str, SubjectSeries]:
    return series_by_subject(readings) if isinstance(readings, pl.DataFrame) else readings


def _null_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value


def subject_grid_metrics(readings: pl.DataFrame | SubjectSeries,
                         period_days: int | None = None) -> dict[str, float | int | None]:
    """active_pct, mage, modd, conga_24h and the episode counts of one subject's readings, and
    with `period_days` (the whole days the readings were taken from) period_active_pct."""
    series = subject_series(readings) if isinstance(readings, pl.DataFrame) else readings
    times, glucose, grid = series.times, series.glucose, series.grid
    out: dict[str, float | int | None] = dict.fromkeys(GRID_METRICS_SCHEMA)
    automatic, period = active_percents(times, period_days, series.offset_change_min, series.n_readings)
    out["active_pct"], out["period_active_pct"] = _null_if_nan(automatic), _null_if_nan(period)
    if times.size >= 2:  # R cannot interpolate a single reading
        # MAGE always uses a 5-minute grid: the subject's own grid when its step is 5 minutes too.
        reuse = grid is not None and grid.dt0 == MAGE_DT0
        out["mage"] = _null_if_nan(mage_from_grid(grid) if reuse else mage(times, glucose))
    if grid is not None:
        out["modd"] = _null_if_nan(modd(grid))
        out["conga_24h"] = _null_if_nan(conga(grid, hours=24))
        out.update(episode_counts(series.episodes))
    return out


def _per_subject(readings: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    """Each subject's rows in the frame's order (clean_readings sorts them by time stably, so the
    frame's order decides which of equal timestamps is last), subjects as they first appear."""
    parts = readings.partition_by("subject_id", as_dict=True, maintain_order=True)
    return [(key[0], part) for key, part in parts.items()]


def grid_metrics_by_subject(readings: Readings, period_days: int | None = None) -> pl.DataFrame:
    """One row per subject_id with the columns of `subject_grid_metrics`."""
    rows = [{"subject_id": sid, **subject_grid_metrics(series, period_days)}
            for sid, series in _series(readings).items()]
    return pl.DataFrame(rows, schema={"subject_id": pl.String, **GRID_METRICS_SCHEMA})


def episodes_by_subject(readings: Readings) -> pl.DataFrame:
    """One row per episode: subject_id + the columns of `episodes.EPISODE_SCHEMA`, and the UTC
    offset at its start and end (`episodes.with_utc_offsets`; 0 without the readings' offsets)."""
    frames = [pl.DataFrame(schema={"subject_id": pl.String, **EPISODE_SCHEMA,
                                   "start_offset_min": pl.Int32, "end_offset_min": pl.Int32})]
    for sid, series in _series(readings).items():
        if series.episodes is not None:
            episodes = with_utc_offsets(series.episodes, series.times, series.glucose, series.offsets,
                                        series.grid.dt0)
            frames.append(episodes.select(pl.lit(sid).alias("subject_id"), pl.all()))
    return pl.concat(frames)


def agp_by_subject(readings: Readings) -> pl.DataFrame:
    """One row per (subject_id, minute_of_day): p05, p25, p50, p75, p95 (mg/dL) and n_days."""
    frames = [pl.DataFrame(schema={"subject_id": pl.String, **AGP_SCHEMA})]
    for sid, series in _series(readings).items():
        if series.grid is not None:
            frames.append(agp(series.grid).select(pl.lit(sid).alias("subject_id"), pl.all()))
    return pl.concat(frames)


def daily_active_percent(readings: pl.DataFrame) -> pl.DataFrame:
    """active_pct and period_active_pct (%, null where undefined) of each subject-day of `readings`
    (subject_id, local_day, local_ts, optionally utc_offset_min): one row per (subject_id, day), each
    day its own series and its own one-day period, as gold.daily_glucose wants."""
    days = readings.partition_by(["subject_id", "local_day"], as_dict=True)
    changes = offset_changes(readings, ["subject_id", "local_day"])
    rows = []
    for (subject, day), part in days.items():
        change = changes.get((subject, day), 0.0)
        automatic, period = active_percents(part["local_ts"].to_numpy(), 1, change, part.height)
        rows.append({"subject_id": subject, "day": day, "active_pct": _null_if_nan(automatic),
                     "period_active_pct": _null_if_nan(period)})
    return pl.DataFrame(rows, schema={"subject_id": pl.String, "day": pl.Date, "active_pct": pl.Float64,
                                      "period_active_pct": pl.Float64})
