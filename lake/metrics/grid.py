"""The regular glucose grid that iglu's sequential metrics run on (R iglu `CGMS2DayByDay`).

Readings (local wall-clock time, mg/dL) are linearly interpolated onto a grid with step `dt0`
minutes that starts at midnight of the first local day. Following R iglu 4.3.0 exactly:

* `dt0` defaults to round(median of the gaps between readings) in minutes (R rounds half to
  even, as numpy does); above `inter_gap` is an error; if 1440 % dt0 != 0 it becomes 20 when
  > 20, else the nearest multiple of 5.
* ndays = ceiling(days(last - first) + 1), which can add a trailing all-missing day.
* Grid point k (k = 1 .. ndays*1440/dt0) is midnight + k*dt0: the first point is 00:05 and the
  last is 24:00, so row d column j is day d at (j+1)*dt0 minutes after midnight.
* Outside [first, last] reading the grid is missing (approx rule=1); grid points strictly
  between two readings more than `inter_gap` (45) minutes apart are missing; shorter gaps are
  bridged linearly.
* Missing glucose is dropped first; of readings with exactly the same timestamp the last is kept.

Times are naive local wall-clock times, as iglu_python uses them: a daylight-saving change shows
as an hour without readings (spring) or an hour whose readings interleave with the repeated
hour's (autumn).

iglu_python's port differs: its default dt0 is the mode (truncated to whole minutes) of the gaps,
it has no 1440 % dt0 rule and no trailing missing day. On regular 5-minute data the values of
the common days agree.

Why not Ibis: this and everything built on the grid are sequential algorithms (interpolation,
run lengths, moving averages) over one subject's ordered series; they run on numpy arrays.
"""

from dataclasses import dataclass

import numpy as np

NS_PER_MIN = 60_000_000_000
MIN_PER_DAY = 1440
INTER_GAP_MIN = 45


@dataclass(frozen=True)
class Grid:
    """One subject's glucose on the iglu grid.

    Attributes:
        values: (ndays, 1440 // dt0) array of mg/dL, NaN where there is no data.
        first_day: midnight (local wall clock) of the first day, datetime64[ns].
        dt0: grid step in minutes.
    """

    values: np.ndarray
    first_day: np.datetime64
    dt0: int

    @property
    def flat(self) -> np.ndarray:
        """Grid values in time order (the rows of `values` one after another)."""
        return self.values.ravel()

    def times(self) -> np.ndarray:
        """Local wall-clock time of every point of `flat`: midnight + k*dt0, k = 1, 2, ..."""
        steps = np.arange(1, self.flat.size + 1, dtype=np.int64) * self.dt0 * NS_PER_MIN
        return self.first_day + steps.astype("timedelta64[ns]")


def clean_readings(times: np.ndarray, glucose: np.ndarray, *alongside: np.ndarray) -> tuple[np.ndarray, ...]:
    """Drop missing values, sort by time and keep the last of equal timestamps (as R iglu).

    Args:
        times: local wall-clock reading times (anything numpy converts to datetime64).
        glucose: glucose in mg/dL, NaN for missing.
        alongside: other columns of the same readings (their UTC offsets), kept and ordered alike.

    Returns:
        (times as datetime64[ns], glucose as float64, *alongside), strictly increasing in time.
    """
    times = np.asarray(times, dtype="datetime64[ns]")
    glucose = np.asarray(glucose, dtype=np.float64)
    present = np.flatnonzero(~np.isnan(glucose) & ~np.isnat(times))
    ordered = present[np.argsort(times[present], kind="stable")]  # stable: "last" keeps its meaning
    ordered_times = times[ordered]
    kept = ordered[np.append(ordered_times[1:] != ordered_times[:-1], True)]
    return (times[kept], glucose[kept], *(np.asarray(column)[kept] for column in alongside))


def true_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[start, stop) indices of each run of True in `mask` (e.g. of missing grid points)."""
    edges = np.diff(np.concatenate(([False], mask, [False])).astype(np.int8))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def minutes_between(times: np.ndarray) -> np.ndarray:
    """Gaps between consecutive readings in (fractional) minutes."""
    return np.diff(times.astype(np.int64)) / NS_PER_MIN


def grid_step(times: np.ndarray, dt0: int | None = None, inter_gap: float = INTER_GAP_MIN) -> int:
    """The grid step dt0 in minutes that R iglu uses for these (cleaned) reading times.

    Raises:
        ValueError: fewer than two readings to infer dt0 from, dt0 < 1, or dt0 > inter_gap
            (R iglu stops with an error there too).
    """
    if dt0 is None:
        if times.size < 2:
            raise ValueError("at least two readings are needed to infer the grid step dt0")
        dt0 = int(np.round(np.median(minutes_between(times))))
    if dt0 < 1:
        raise ValueError(f"grid step dt0={dt0} min is below one minute")
    if dt0 > inter_gap:
        raise ValueError(f"grid step dt0={dt0} min is above the interpolation gap {inter_gap} min")
    if MIN_PER_DAY % dt0 != 0:
        # so that every day has the same grid columns
        dt0 = 20 if dt0 > 20 else (dt0 + 5 - dt0 % 5 if dt0 % 5 > 2 else dt0 - dt0 % 5)
    return dt0


def day_by_day(
    times: np.ndarray,
    glucose: np.ndarray,
    dt0: int | None = None,
    inter_gap: float = INTER_GAP_MIN,
) -> Grid:
    """Interpolate one subject's readings onto the iglu grid (R `CGMS2DayByDay`).

    Args:
        times: local wall-clock reading times.
        glucose: glucose in mg/dL.
        dt0: grid step in minutes; None infers it as R does.
        inter_gap: gaps longer than this many minutes are not interpolated.

    Raises:
        ValueError: see `grid_step`; also when there is no reading at all.
    """
    times, glucose = clean_readings(times, glucose)
    if times.size == 0:
        raise ValueError("no glucose readings")
    dt0 = grid_step(times, dt0, inter_gap)
    first_day = times[0].astype("datetime64[D]").astype("datetime64[ns]")
    span_days = (times[-1] - times[0]).astype(np.int64) / (NS_PER_MIN * MIN_PER_DAY)
    ndays = int(np.ceil(span_days + 1))

    t = (times - first_day).astype(np.int64)  # ns since the first midnight
    points = np.arange(1, ndays * MIN_PER_DAY // dt0 + 1, dtype=np.int64) * dt0 * NS_PER_MIN
    # interpolate in minutes: ns counts past 2**53 (~104 days) would lose float64 precision
    values = np.interp(points / NS_PER_MIN, t / NS_PER_MIN, glucose, left=np.nan, right=np.nan)

    # Missing strictly inside gaps longer than inter_gap: find the reading at or before each
    # point; a point that is not itself a reading and follows a long gap's start is missing.
    before = np.searchsorted(t, points, side="right") - 1
    long_gap_after = np.append(np.diff(t) > inter_gap * NS_PER_MIN, False)
    inside_gap = (before >= 0) & long_gap_after[np.clip(before, 0, None)]
    inside_gap &= t[np.clip(before, 0, None)] < points
    values[inside_gap] = np.nan
    return Grid(values.reshape(ndays, MIN_PER_DAY // dt0), first_day, dt0)
