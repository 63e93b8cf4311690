"""Day-to-day and within-day glucose variability on the iglu grid: MODD and CONGA (mg/dL).

* MODD (mean of daily differences, Service & Nelson 1980): mean |g(t) - g(t - 1 day)| over all
  grid points where both values exist (R iglu `modd`, lag = 1 day).
* CONGA_n (continuous overall net glycemic action, McDonnell 2005): sample SD of
  g(t) - g(t - n hours) over the grid, the lag being n * round(60 / dt0) points. iglu's default,
  used here, is n = 24 hours (the original paper's CONGA1 is n = 1).

Both read the grid of `grid.day_by_day` with its automatic dt0, as R iglu does. MAGE lives in
`mage.py`. Why not Ibis: lagged differences on an interpolated grid, see `grid.py`.
"""

import numpy as np

from .grid import MIN_PER_DAY, Grid


def _lagged_differences(values: np.ndarray, lag: int) -> np.ndarray:
    """g[t] - g[t - lag] on the flattened grid, only where both exist."""
    if lag >= values.size:
        return np.empty(0)
    diffs = values[lag:] - values[:-lag]
    return diffs[~np.isnan(diffs)]


def modd(grid: Grid, lag_days: int = 1) -> float:
    """Mean absolute difference between values `lag_days` apart at the same time of day (mg/dL).

    Returns NaN when no time of day has values on two days `lag_days` apart.
    """
    diffs = _lagged_differences(grid.flat, lag_days * MIN_PER_DAY // grid.dt0)
    return float(np.mean(np.abs(diffs))) if diffs.size else float("nan")


def conga(grid: Grid, hours: int = 24) -> float:
    """Sample SD of differences between grid values `hours` apart (mg/dL).

    Returns NaN with fewer than two such differences (R `sd` of one value is NA).
    """
    lag = int(np.round(60 / grid.dt0)) * hours  # R: round(60 / dt0), half to even
    diffs = _lagged_differences(grid.flat, lag)
    return float(np.std(diffs, ddof=1)) if diffs.size >= 2 else float("nan")
