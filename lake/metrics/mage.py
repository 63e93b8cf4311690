"""MAGE, mean amplitude of glycemic excursions (mg/dL), iglu's default `version='ma'`.

The moving-average algorithm of Fernandes et al. (JDST 2022) as R iglu 4.3.0 runs it with its
defaults (short_ma=5, long_ma=32, direction='avg', inter_gap=45, max_gap=180):

1. Interpolate onto the iglu grid with dt0 = 5 min (always), trim leading/trailing missing points.
2. Split into segments at runs of missing points longer than max_gap: run length * dt0 > 180.
3. A segment gives no value if it has < 7 points, < long_ma points, or SD < 1 mg/dL. Otherwise:
   right-aligned means MA5 and MA32 (missing points skipped, first 5/32 back-filled); crossings
   where MA5 - MA32 changes sign (first and last points always count); between crossings the
   nadir or peak of the grid glucose; then excursions of at least 1 SD of the segment, a turning
   point being moved on while the trend continues. MAGE+ is the mean nadir-to-peak rise, MAGE-
   the mean peak-to-nadir fall.
4. 'avg': mean of all segments' MAGE+ and MAGE- values, each weighted by its segment's length.

Where iglu_python differs from R and this follows R: iglu_python splits when (run + 1) * dt0 >
max_gap, so a run of exactly 36 missing points (180 min) splits there but not in R; it accepts
segments from 7 points on instead of requiring long_ma points; it counts excursions > SD where R
counts >= SD. The crossing search follows iglu_python's port, which its tests check against R
4.3.0's results on iglu's example data: besides sign changes between neighbours, a sign change
across missing points is found against the sign at the previous crossing, and a difference of
exactly 0 counts as missing. (In R 4.1.7, the latest source we could read, that across-gap check
sat inside the no-missing-values branch, although its comment says it is there for gaps.)
The moving means follow R (each window's own mean, zoo::rollapply), not iglu_python's pandas
rolling means, a running sum whose rounding noise (~1e-14) can give MA5 - MA32 a sign where R's is
exactly 0 (both windows holding the same readings, just after a gap): iglu_python then finds a
crossing R does not, which moved MAGE by about 1% on some test traces.

Why not Ibis: moving averages and a turning-point search over an interpolated series.
"""

import warnings

import numpy as np

from .grid import INTER_GAP_MIN, Grid, day_by_day, true_runs

MAGE_DT0 = 5
_NADIR, _PEAK = 0, 1


def mage(
    times: np.ndarray,
    glucose: np.ndarray,
    short_ma: int = 5,
    long_ma: int = 32,
    inter_gap: float = INTER_GAP_MIN,
    max_gap: float = 180,
) -> float:
    """MAGE (mg/dL) of one subject's readings (local wall-clock times, glucose in mg/dL).

    Returns NaN when no segment has a countable excursion. Raises ValueError without readings.
    """
    grid = day_by_day(times, glucose, dt0=MAGE_DT0, inter_gap=inter_gap)
    return mage_from_grid(grid, short_ma, long_ma, max_gap)


def mage_from_grid(grid: Grid, short_ma: int = 5, long_ma: int = 32, max_gap: float = 180) -> float:
    """MAGE (mg/dL) on an already built grid (iglu always uses a 5-minute grid)."""
    present = np.flatnonzero(~np.isnan(grid.flat))
    if present.size == 0:
        return float("nan")
    gl = grid.flat[present[0] : present[-1] + 1]
    short, long = sorted((round(short_ma * 5 / grid.dt0), round(long_ma * 5 / grid.dt0)))
    values, minutes = [], []
    for start, stop in _segments(gl, grid.dt0, max_gap):
        for value in _excursion_means(gl[start:stop], short, long):
            if not np.isnan(value):
                values.append(value)
                minutes.append((stop - 1 - start) * grid.dt0)  # segment end - start time
    if not values:
        return float("nan")
    weights = np.array(minutes) / np.sum(minutes)
    return float(np.sum(np.array(values) * weights))


def _segments(gl: np.ndarray, dt0: int, max_gap: float) -> list[tuple[int, int]]:
    """[start, stop) of the pieces between runs of missing points longer than max_gap minutes."""
    run_starts, run_stops = true_runs(np.isnan(gl))
    long_runs = (run_stops - run_starts) * dt0 > max_gap
    starts = np.concatenate(([0], run_stops[long_runs]))
    stops = np.concatenate((run_starts[long_runs], [gl.size]))
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _right_mean(gl: np.ndarray, width: int) -> np.ndarray:
    """Right-aligned moving mean skipping missing values; the first `width` get the first mean.

    Each window is summed strictly left to right (a cumulative sum; missing values add an exact
    0), as R's mean does. Then a short and a long window holding the same readings (just after
    a gap) have exactly equal means, so MA_short - MA_long is exactly 0 there, as in R: numpy's
    pairwise nanmean left a difference of about 1e-14 whose sign made crossings R does not see.
    """
    present = ~np.isnan(gl)
    filled = np.where(present, gl, 0.0)
    n = gl.size - width + 1
    # Every window at once, one position at a time: the same additions in the same order as a
    # cumulative sum along each window, without a (windows x width) matrix.
    sums, counts = filled[:n].copy(), present[:n].astype(np.int64)
    for k in range(1, width):
        sums += filled[k : k + n]
        counts += present[k : k + n]
    with warnings.catch_warnings():  # an all-missing window is NaN, as in R
        warnings.simplefilter("ignore", RuntimeWarning)
        means = sums / counts
    out = np.concatenate((np.full(width - 1, np.nan), means))
    out[:width] = out[width - 1]
    return out


def _excursion_means(gl: np.ndarray, short: int, long: int) -> tuple[float, float]:
    """(MAGE+, MAGE-) of one segment, NaN where there is none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = float(np.nanstd(gl, ddof=1))
    if gl.size < 7 or gl.size < long or not sd >= 1:
        return float("nan"), float("nan")
    delta = _right_mean(gl, short) - _right_mean(gl, long)
    extremes = _turning_points(gl, _crossings(gl, delta))
    rises = _excursions(extremes, sd)
    falls = _excursions(-extremes, sd, restart_at_turn=True)  # a fall: rise of -glucose
    return (
        float(np.mean(rises)) if rises else float("nan"),
        float(np.mean(falls)) if falls else float("nan"),
    )


def _kind_after(delta: float) -> int:
    """At the ends of a segment: a peak follows while MA_short is above MA_long, else a nadir."""
    return _PEAK if delta > 0 else _NADIR


def _crossings(gl: np.ndarray, delta: np.ndarray) -> list[tuple[int, int]]:
    """(index, kind of extreme that follows) where MA_short - MA_long changes sign."""
    first = (0, _kind_after(delta[0]))
    delta = np.where(delta == 0, np.nan, delta)
    # Between neighbours that are all present, a sign change is a crossing: found at once.
    present = ~np.isnan(gl[1:] + gl[:-1] + delta[1:] + delta[:-1])
    direct = np.flatnonzero(present & (delta[1:] * delta[:-1] < 0)) + 1
    # Across missing points the sign is compared with the last crossing's: sequential, but only
    # at the few points next to or inside gaps, so the loop runs over crossings, not all points.
    across = np.flatnonzero(~present & ~np.isnan(delta[1:])) + 1
    crosses = [first]
    candidates = np.concatenate((direct, across))
    order = np.argsort(candidates, kind="stable")
    for i, is_direct in zip(candidates[order].tolist(), (order < direct.size).tolist(), strict=True):
        previous = delta[i - 1] if is_direct else delta[crosses[-1][0]]
        if is_direct or delta[i] * previous < 0:
            crosses.append((i, _NADIR if delta[i] < previous else _PEAK))
    crosses.append((gl.size - 1, _kind_after(delta[-1])))
    return crosses


def _turning_points(gl: np.ndarray, crosses: list[tuple[int, int]]) -> np.ndarray:
    """Nadir or peak glucose between the previous turning point and the next crossing."""
    # Missing points made +-inf so plain argmin/argmax skip them (nanargmin costs 10x per call).
    # The arrays' own methods: np.argmin's dispatch cost as much as the search on these slices.
    for_min, for_max = np.where(np.isnan(gl), np.inf, gl), np.where(np.isnan(gl), -np.inf, gl)
    extremes, left = [], crosses[0][0]
    for (_, kind), (right, _) in zip(crosses[:-1], crosses[1:], strict=True):
        if kind == _NADIR:
            left += int(for_min[left : right + 1].argmin())
        else:
            left += int(for_max[left : right + 1].argmax())
        extremes.append(gl[left])
    return np.array(extremes)


def _excursions(extremes: np.ndarray, sd: float, restart_at_turn: bool = False) -> list[float]:
    """Heights of the rises of at least `sd`, with left-side accumulation (R iglu MAGE+).

    After an excursion R's MAGE+ searches on from the point that confirmed it, while its MAGE-
    (run here on the negated series) searches on from the turning point: `restart_at_turn`.
    """
    ext = extremes.tolist()  # plain floats: this loop is scalar work, numpy per element is slow
    heights, n = [], len(ext)
    j = start = low = 0  # low: the first lowest point in ext[start..j]
    while j < n:
        if ext[j] < ext[low]:
            low = j
        if ext[j] - ext[low] >= sd:
            for k in range(j, n):
                if ext[k] > ext[j]:
                    j = k  # the trend continues: move the peak on
                if ext[k] - ext[j] < -sd or k == n - 1:
                    heights.append(ext[j] - ext[low])
                    start, j = (j if restart_at_turn else k), k
                    break
            low = min(range(start, j + 1), key=ext.__getitem__)  # the first lowest, as R
        else:
            j += 1
    return heights
