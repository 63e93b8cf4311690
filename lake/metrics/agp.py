"""Ambulatory glucose profile (AGP): glucose percentiles by time of day across days (mg/dL).

As R iglu `plot_agp` computes its curves: on the iglu grid (automatic dt0, gaps > 45 min not
interpolated), for each time-of-day column the 5th, 25th, 50th, 75th and 95th percentiles across
the days that have a value there, R `quantile` type 7 (linear, numpy's default). minute_of_day is
j * dt0 for j = 1 .. 1440 / dt0, as iglu's grid, so the first column is 00:05 (with dt0 = 5) and
the last is 1440, a day's 24:00 value (that day's row of the grid, i.e. the next midnight).
n_days counts the days with a value in the column; percentiles are null where it is 0.

Not done: iglu smooths each curve with loess(span = 0.3) for the plot by default; these are the
unsmoothed percentiles (smoothing is a presentation step, and loess is not reproducible exactly
outside R). Why not Ibis: the percentiles are over the interpolated grid, see `grid.py`.
"""

import numpy as np
import polars as pl

from .grid import Grid

PERCENTILES = {"p05": 0.05, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p95": 0.95}


def agp(grid: Grid) -> pl.DataFrame:
    """One row per grid column: minute_of_day, p05, p25, p50, p75, p95 (mg/dL) and n_days."""
    values = grid.values
    n_days = (~np.isnan(values)).sum(axis=0)
    quantiles = np.full((len(PERCENTILES), values.shape[1]), np.nan)
    has_data = n_days > 0
    quantiles[:, has_data] = column_quantiles(values[:, has_data], n_days[has_data], list(PERCENTILES.values()))
    columns = {
        name: pl.Series(name, q, nan_to_null=True)
        for name, q in zip(PERCENTILES, quantiles, strict=True)
    }
    return pl.DataFrame(
        {
            "minute_of_day": (np.arange(1, values.shape[1] + 1) * grid.dt0).astype(np.int32),
            **columns,
            "n_days": n_days.astype(np.int32),
        }
    )


def column_quantiles(values: np.ndarray, counts: np.ndarray, probs: list[float]) -> np.ndarray:
    """`np.nanquantile(values, probs, axis=0, method="linear")` (R type 7), bit for bit, for
    columns that each hold `counts` > 0 values: all columns at once, where numpy's nanquantile
    goes column by column in Python (ten times slower for a year's grid)."""
    ordered = np.sort(values, axis=0)  # NaN last: column j's values are ordered[:counts[j], j]
    virtual = (counts - 1) * np.asarray(probs, dtype=np.float64)[:, None]
    below = np.floor(virtual)
    last = counts - 1
    at_end = virtual >= last  # as numpy: the last value, not an interpolation past it
    lower = np.where(at_end, last, below).astype(np.intp)
    upper = np.where(at_end, last, below + 1).astype(np.intp)
    columns = np.arange(values.shape[1])
    a, b = ordered[lower, columns], ordered[upper, columns]
    gamma = virtual - below
    # numpy's _lerp: a + (b - a) * gamma, from the upper end when gamma >= 0.5 (exact at gamma 1).
    diff = b - a
    result = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=result, where=gamma >= 0.5)
    return result
