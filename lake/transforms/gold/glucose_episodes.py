"""gold.glucose_episodes: one row per hypo- or hyperglycaemia episode in a built period.

kind 'hypo'|'hyper'; level 'l1' (< 70 / > 180 mg/dL), 'l2' (< 54 / > 250), 'extended' (< 70 for
more than 120 min), found on iglu's interpolated grid as iglu's episode_calculation does: at least
15 min in the condition starts one, 15 min out of it (or a data gap over 45 min) ends it; level 2
episodes are found on their own and are a subset of level 1. start_ts/end_ts are UTC (the grid is
local wall-clock time; the offset is that of the nearest reading at or before the start);
start_local_ts/end_local_ts are the local times; duration_min in minutes; mean_mg_dl the mean of
the episode's grid values.
`episodes` comes from lake.metrics.episodes (subject_id, kind, level, start_local_ts,
end_local_ts, duration_min, mean_mg_dl).
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

COLUMNS = ["subject_id", "period_start", "period_end", "kind", "level", "start_ts", "end_ts",
           "start_local_ts", "end_local_ts", "duration_min", "mean_mg_dl"]


def glucose_episodes(episodes: ir.Table, glucose_readings: ir.Table, period_start: date,
                     period_end: date) -> ir.Table:
    ep = episodes
    offsets = glucose_readings.select("subject_id", "local_ts", offset=glucose_readings.utc_offset_min.fill_null(0))
    with_offset = ep.asof_join(offsets, ep.start_local_ts >= offsets.local_ts, predicates="subject_id")
    offset = with_offset.offset.fill_null(0).as_interval("m")
    return with_offset.mutate(
        period_start=ibis.literal(period_start), period_end=ibis.literal(period_end),
        start_ts=with_offset.start_local_ts - offset, end_ts=with_offset.end_local_ts - offset,
    ).select(COLUMNS)
