"""Hypo- and hyperglycaemic episodes, as R iglu `episode_calculation` finds them.

iglu's reading of the 2023 consensus (Battelino et al., Lancet Diabetes Endocrinol 2023), on the
iglu grid (automatic dt0, gaps > 45 min not interpolated):

* The grid is split into segments at missing points (data gaps); each is searched on its own.
* In condition: hypo glucose < threshold, hyper glucose > threshold (both strict), mg/dL.
* Start: a run of >= ceil(15 / dt0) consecutive in-condition points (15 minutes).
* End: the first later run of >= ceil(15 / dt0) out-of-condition points. The episode is its
  start through the point before that run, so shorter excursions out of the condition stay
  inside it and later starts before the end are merged. The end of a segment ends it too.
* Levels: 'l1' thresholds 70 (hypo) / 180 (hyper), 'l2' 54 / 250. Level 2 episodes are found
  independently with their own threshold (ending after 15 min >= 54 or <= 250), so each lies
  within a level 1 episode: level 2 is a subset of level 1 (cumulative, like iglu; the 2019
  consensus instead reports level 1 *time* as the 54-69 and 181-250 bands).
* 'extended' hypo: < 70 for >= 120 / dt0 + 1 points (more than 120 minutes), same end rule.

Per episode: start_local_ts and end_local_ts are the local wall-clock times of its first and
last grid points (grid times, not reading times, and not UTC);
duration_min = number of grid points * dt0, as iglu's avg_ep_duration (each point stands for dt0
minutes, so it is end_local_ts - start_local_ts + dt0); mean_mg_dl is the mean of its grid points.

Why not Ibis: run-length rules over an interpolated, gap-segmented series.
"""

import math

import numpy as np
import polars as pl

from .grid import NS_PER_MIN, Grid

DURATION_MIN = 15
EXTENDED_MIN = 120
# (kind, level, threshold mg/dL); extended hypo reuses the level 1 threshold
LEVELS = (
    ("hypo", "l1", 70.0),
    ("hypo", "l2", 54.0),
    ("hypo", "extended", 70.0),
    ("hyper", "l1", 180.0),
    ("hyper", "l2", 250.0),
)
EPISODE_SCHEMA = {
    "kind": pl.String,
    "level": pl.String,
    "start_local_ts": pl.Datetime("us"),
    "end_local_ts": pl.Datetime("us"),
    "duration_min": pl.Float64,
    "mean_mg_dl": pl.Float64,
}
COUNT_COLUMNS = {
    ("hypo", "l1"): "hypo_l1_episodes",
    ("hypo", "l2"): "hypo_l2_episodes",
    ("hyper", "l1"): "hyper_l1_episodes",
    ("hyper", "l2"): "hyper_l2_episodes",
    ("hypo", "extended"): "extended_hypo_episodes",
}


def _runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encoding: (start index, length, value) of each run of equal values."""
    change = np.flatnonzero(flags[1:] != flags[:-1]) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(np.concatenate((starts, [flags.size])))
    return starts, lengths, flags[starts]


def episode_bounds(in_condition: np.ndarray, min_points: float, end_points: float,
                   present: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The first and the last index of each episode (R iglu `event_class`), over every segment at
    once, in order, as two integer arrays.

    Args:
        in_condition: whether each grid point is hypo/hyper.
        min_points: an in-condition run at least this long starts an episode.
        end_points: an out-of-condition run at least this long ends it.
        present: which grid points have glucose (default: all, one segment). Segments are the
            runs of present points; the end of a segment ends any episode open in it.
    """
    if in_condition.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    state = in_condition.astype(np.int8)  # 1 in condition, 0 out, -1 missing
    if present is not None:
        state[~present] = -1
    starts, lengths, values = _runs(state)
    episode_starts = starts[(values == 1) & (lengths >= min_points)]
    # What ends an episode: a long enough run out of the condition, or the end of its segment
    # (the start of a gap, or the end of the grid), as if an end run started past its last point.
    ends = np.sort(np.concatenate((starts[(values == 0) & (lengths >= end_points)], starts[values == -1],
                                   [state.size])))
    lasts = ends[np.searchsorted(ends, episode_starts, side="right")] - 1
    # Starts before the same end merge into the first one.
    lasts, first_start = np.unique(lasts, return_index=True)
    return episode_starts[first_start], lasts


def find_episodes(grid: Grid) -> pl.DataFrame:
    """All episodes of one subject's grid, one row each (columns of `EPISODE_SCHEMA`)."""
    gl, dt0 = grid.flat, grid.dt0
    present = ~np.isnan(gl)  # segments: runs of grid points with data
    dur_points = math.ceil(DURATION_MIN / dt0)
    kinds, levels, firsts, lasts, sums = [], [], [], [], []
    for kind, level, threshold in LEVELS:
        # R compares the run length with 120/dt0 + 1 without rounding
        min_points = EXTENDED_MIN / dt0 + 1 if level == "extended" else dur_points
        in_condition = gl < threshold if kind == "hypo" else gl > threshold
        first, last = episode_bounds(in_condition, min_points, dur_points, present)
        if first.size:
            kinds += [kind] * first.size
            levels += [level] * first.size
            firsts.append(first)
            lasts.append(last)
            sums.append(_sums(gl, first, last))
    if not kinds:
        return pl.DataFrame(schema=EPISODE_SCHEMA)
    first, last = np.concatenate(firsts), np.concatenate(lasts)
    points = last - first + 1
    times = grid.times().astype("datetime64[us]")
    return pl.DataFrame({
        "kind": kinds,
        "level": levels,
        "start_local_ts": times[first],
        "end_local_ts": times[last],
        "duration_min": (points * dt0).astype(np.float64),
        "mean_mg_dl": np.concatenate(sums) / points,
    }, schema=EPISODE_SCHEMA).sort("kind", "level", "start_local_ts")


def _sums(values: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Sum of values[first[i]:last[i] + 1] for ordered, disjoint ranges, all in one numpy call (a
    mean per episode in Python took two thirds of the search at 50 subject-years)."""
    bounds = np.empty(2 * first.size, dtype=np.int64)
    bounds[0::2], bounds[1::2] = first, last + 1
    # reduceat sums values[bounds[k]:bounds[k + 1]]: the ranges, and between them what is left
    # out. A 0 appended makes last + 1 a valid index when a range ends at the last value.
    return np.add.reduceat(np.append(values, 0.0), bounds)[0::2]


def episode_counts(episodes: pl.DataFrame) -> dict[str, int]:
    """Number of episodes per level, keyed as the gold summary columns (zero when none)."""
    counts = dict.fromkeys(COUNT_COLUMNS.values(), 0)
    for kind, level, n in episodes.group_by("kind", "level").len().iter_rows():
        counts[COUNT_COLUMNS[(kind, level)]] = n
    return counts


THRESHOLDS = {(kind, level): threshold for kind, level, threshold in LEVELS}


def with_utc_offsets(episodes: pl.DataFrame, times: np.ndarray, glucose: np.ndarray, offsets: np.ndarray,
                     dt0: int) -> pl.DataFrame:
    """`episodes` (of `find_episodes`) with start_offset_min and end_offset_min: the UTC offset
    (minutes) of the subject's readings at each end, so that its UTC time is local - offset.

    `times` (local wall-clock, increasing), `glucose` and `offsets` are the cleaned readings the
    grid was made from. At each end, the readings within one grid step that are in the episode's
    condition give the offset (without such a reading, those within a step at all; without any,
    the nearest one). They differ only in the hour repeated when clocks go back, where the
    readings of both passes interleave on the local grid: a night-time low in the second pass is
    one hour later in UTC than the same local time in the first, and its readings say which pass
    it is. Where both passes are in the condition, the episode is taken to span them: the start
    takes the first pass's offset and the end the second's, and an end is never before its start.
    """
    if episodes.height == 0:
        return episodes.with_columns(pl.lit(None, pl.Int32).alias("start_offset_min"),
                                     pl.lit(None, pl.Int32).alias("end_offset_min"))
    times = np.asarray(times, dtype="datetime64[ns]").astype(np.int64)  # ns, to do arithmetic on
    offsets = np.asarray(offsets, dtype=np.int64)
    threshold = np.array([THRESHOLDS[k, lv] for k, lv in episodes.select("kind", "level").iter_rows()])
    is_hypo = (episodes["kind"] == "hypo").to_numpy()

    def offsets_at(local: np.ndarray, first_pass: bool) -> np.ndarray:
        step = dt0 * NS_PER_MIN
        lo, hi = np.searchsorted(times, local - step, "left"), np.searchsorted(times, local + step, "right")
        # The readings within a step of each end, as a (episodes x widest window) matrix.
        width = max(int((hi - lo).max()), 1)
        index = lo[:, None] + np.arange(width)[None, :]
        inside = index < hi[:, None]
        index = np.minimum(index, times.size - 1)
        values = glucose[index]
        meets = inside & np.where(is_hypo[:, None], values < threshold[:, None], values > threshold[:, None])
        preferred = np.where(meets.any(axis=1)[:, None], meets, inside)
        # The first pass has the larger offset (clocks went back): the start takes it, the end the smaller.
        chosen = (np.where(preferred, offsets[index], np.iinfo(np.int64).min).max(axis=1) if first_pass
                  else np.where(preferred, offsets[index], np.iinfo(np.int64).max).min(axis=1))
        # No reading within a step: the nearest one either side.
        after = np.minimum(np.searchsorted(times, local), times.size - 1)
        before = np.maximum(after - 1, 0)
        nearest = np.where(np.abs(times[before] - local) <= np.abs(times[after] - local), before, after)
        return np.where(inside.any(axis=1), chosen, offsets[nearest])

    start = episodes["start_local_ts"].cast(pl.Datetime("ns")).to_numpy().astype(np.int64)
    end = episodes["end_local_ts"].cast(pl.Datetime("ns")).to_numpy().astype(np.int64)
    start_offset, end_offset = offsets_at(start, first_pass=True), offsets_at(end, first_pass=False)
    # Readings of the two passes can interleave so that each end alone reads differently; an end
    # before its start in UTC then keeps the start's offset.
    end_offset = np.where(end - end_offset * NS_PER_MIN < start - start_offset * NS_PER_MIN, start_offset,
                          end_offset)
    return episodes.with_columns(start_offset_min=pl.Series(start_offset, dtype=pl.Int32),
                                 end_offset_min=pl.Series(end_offset, dtype=pl.Int32))
