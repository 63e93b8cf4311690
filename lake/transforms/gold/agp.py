"""gold.agp: one row per (subject_id, period_start, period_end, minute_of_day).

The ambulatory glucose profile as iglu's plot_agp computes it: for each time of day on iglu's grid
(minute_of_day = dt0, 2*dt0, ..., 1440), the 5th/25th/50th/75th/95th percentiles (type 7, mg/dL)
across the period's days of the interpolated grid, and n_days with a value there. Unlike plot_agp
the curves are not loess-smoothed: these are the numbers, smoothing is for the picture.
`agp_rows` comes from lake.metrics.agp (subject_id, minute_of_day, p05..p95, n_days).
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

COLUMNS = ["subject_id", "period_start", "period_end", "minute_of_day", "p05", "p25", "p50", "p75", "p95",
           "n_days"]


def agp(agp_rows: ir.Table, period_start: date, period_end: date) -> ir.Table:
    """The AGP rows of the period: `agp_rows` (lake.metrics.agp) with the period's columns."""
    return agp_rows.mutate(period_start=ibis.literal(period_start),
                           period_end=ibis.literal(period_end)).select(COLUMNS)
