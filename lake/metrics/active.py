"""Percentage of time the CGM was active (R iglu `active_percent`, automatic range).

active_pct = 100 * (expected - missing) / expected readings over the observed period, in %:

* dt0 = round(median gap between readings) in minutes, per subject;
* expected = round(round(minutes from first to last reading) / dt0) + 1;
* a gap is a pair of consecutive readings with round(gap) > dt0, and
  missing = round((sum of those gaps - number of gaps * dt0) / dt0).

This follows R iglu 4.3.0, not iglu_python: iglu_python counts a gap when the unrounded gap is
> dt0, so clock jitter of a few seconds (5 min 2 s) adds small "gaps" and its value is slightly
lower. One R quirk is not reproduced: R takes dt0 from the first subject of a multi-subject call
and reuses it for the rest; here each subject has its own dt0, as when R is called per subject.
Of readings with the same timestamp only one counts, as in R (which averages them).

Why not Ibis: it needs ordered differences and a median that feeds back into the same group's
aggregation. It is done in Polars for many groups at once (`active_percent_by`: one vectorised pass
over every subject-day of gold.daily_glucose, where a numpy call per day took twice as long);
`active_percent` is the same computation for one series of times.
"""

from collections.abc import Sequence

import numpy as np
import polars as pl

from .grid import NS_PER_MIN

_TIME, _GAP, _DT0 = "_time", "_gap_min", "_dt0"


def _round(value: pl.Expr) -> pl.Expr:
    return value.round(mode="half_to_even")  # as R's round() and numpy's


def active_percent_by(frame: pl.DataFrame, keys: Sequence[str], time_column: str = "local_ts") -> pl.DataFrame:
    """active_pct (0-100) of each group of `keys` in `frame`, as R iglu.

    Args:
        frame: readings (missing glucose already removed), any order, with `keys` and `time_column`
            (the local wall-clock reading time).
        keys: the columns that make a group (e.g. subject_id and local_day).

    Returns:
        one row per group: `keys` and active_pct (Float64), null with fewer than two distinct
        reading times or a dt0 of 0.
    """
    keys = list(keys)
    time, gap, dt0 = pl.col(_TIME), pl.col(_GAP), pl.col(_DT0)
    readings = frame.select(*keys, pl.col(time_column).cast(pl.Datetime("ns")).alias(_TIME)).sort([*keys, _TIME])
    same_group = pl.all_horizontal(pl.col(k).eq_missing(pl.col(k).shift()) for k in keys)
    readings = readings.with_columns(pl.when(same_group).then(time.diff().dt.total_nanoseconds() / NS_PER_MIN)
                                     .alias(_GAP))
    # A repeated instant counts once: dropping its zero gap leaves the gaps between distinct times.
    readings = readings.filter(gap.is_null() | (gap > 0))
    readings = readings.join(readings.group_by(keys).agg(_round(gap.median()).alias(_DT0)), on=keys,
                             nulls_equal=True)
    is_gap = _round(gap) > dt0  # R rounds each gap before comparing; iglu_python does not
    per_group = readings.group_by(keys).agg(
        pl.len().alias("n"), dt0.first(),
        ((time.max() - time.min()).dt.total_nanoseconds() / NS_PER_MIN).alias("span_min"),
        gap.filter(is_gap).sum().alias("gap_min"), is_gap.sum().alias("n_gaps"))
    expected = _round(_round(pl.col("span_min")) / dt0) + 1
    missing = _round((pl.col("gap_min") - pl.col("n_gaps") * dt0) / dt0)
    defined = (pl.col("n") >= 2) & (dt0 > 0)
    return per_group.select(*keys, pl.when(defined).then(100 * (expected - missing) / expected)
                            .cast(pl.Float64).alias("active_pct"))


def active_percent(times: np.ndarray) -> float:
    """Percentage (0-100) of the observed period with CGM readings, as R iglu.

    Args:
        times: one subject's local wall-clock reading times (readings with missing glucose
            already removed).

    Returns:
        active percentage; NaN with fewer than two distinct reading times or a dt0 of 0.
    """
    frame = pl.DataFrame({"group": 0, "time": pl.Series(np.asarray(times).astype("datetime64[ns]"))})
    (value,) = active_percent_by(frame, ["group"], "time")["active_pct"].to_list() or [None]
    return float("nan") if value is None else value
