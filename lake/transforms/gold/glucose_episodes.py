"""gold.glucose_episodes: one row per hypo- or hyperglycaemia episode in a built period.

kind 'hypo'|'hyper'; level 'l1' (< 70 / > 180 mg/dL), 'l2' (< 54 / > 250), 'extended' (< 70 for
more than 120 min), found on iglu's interpolated grid as iglu's episode_calculation does: at least
15 min in the condition starts one, 15 min out of it (or a data gap over 45 min) ends it; level 2
episodes are found on their own and are a subset of level 1. start_ts/end_ts are UTC: the grid is
local wall-clock time, so each end's UTC offset is that of the subject's readings there (see
lake.metrics.episodes.with_utc_offsets: in the hour repeated when clocks go back, the readings in
the episode's condition tell which of the two passes it is); start_local_ts/end_local_ts are the
local times. Start and end are the episode's first and last points on the grid, and duration_min
(minutes) counts each point as one grid step, as iglu does: duration_min = end - start + one step
(5 min for 5-minute data), not end - start; across a change of clocks it is wall-clock minutes, as
iglu counts them. mean_mg_dl is the mean of the episode's grid values.
`episodes` comes from lake.metrics.subject.episodes_by_subject (subject_id, kind, level,
start_local_ts, end_local_ts, duration_min, mean_mg_dl, start_offset_min, end_offset_min).
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

COLUMNS = ["subject_id", "period_start", "period_end", "kind", "level", "start_ts", "end_ts",
           "start_local_ts", "end_local_ts", "duration_min", "mean_mg_dl"]


def glucose_episodes(episodes: ir.Table, period_start: date, period_end: date) -> ir.Table:
    """The period's episodes (lake.metrics.subject.episodes_by_subject) with UTC times."""
    return episodes.mutate(
        period_start=ibis.literal(period_start), period_end=ibis.literal(period_end),
        start_ts=episodes.start_local_ts - episodes.start_offset_min.as_interval("m"),
        end_ts=episodes.end_local_ts - episodes.end_offset_min.as_interval("m"),
    ).select(COLUMNS)
