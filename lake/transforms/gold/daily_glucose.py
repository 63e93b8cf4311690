"""gold.daily_glucose: one row per (subject_id, day), day = the local calendar day of the readings.

Metrics over that day's readings, as R iglu computes them over raw readings (lake.metrics.readings):
n_readings; mean/sd/min/max in mg/dL; cv_pct, gmi_pct and the pct_* columns in %; lbgi, hbgi.
active_pct is iglu's automatic active percent over the day's readings (from its first reading to
its last, so a day with readings until 8:00 only is 100%), period_active_pct the CGM's coverage of
the whole day (that day: 33%) (lake.metrics.active), both in %, computed outside Ibis and passed in
as `daily_active` (subject_id, day, active_pct, period_active_pct).
"""

from __future__ import annotations

import ibis.expr.types as ir

from lake.metrics.readings import reading_metrics

COLUMNS = ["subject_id", "day", "n_readings", "active_pct", "mean_mg_dl", "median_mg_dl", "sd_mg_dl", "cv_pct",
           "gmi_pct", "ea1c_pct", "pct_below_54", "pct_below_70", "pct_70_180", "pct_above_180",
           "pct_above_250", "min_mg_dl", "max_mg_dl", "lbgi", "hbgi", "j_index", "gri", "period_active_pct"]


def daily_glucose(glucose_readings: ir.Table, daily_active: ir.Table) -> ir.Table:
    """Daily CGM metrics per subject and local day; `daily_active` gives each day's active_pct and
    period_active_pct."""
    t = glucose_readings.mutate(day=glucose_readings.local_day)
    metrics = t.group_by(["subject_id", "day"]).aggregate(**reading_metrics(t))
    return metrics.left_join(daily_active, ["subject_id", "day"]).select(COLUMNS)
