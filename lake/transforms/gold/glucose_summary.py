"""gold.glucose_summary: one row per (subject_id, period_start, period_end) for each built period.

Reading metrics over every reading whose local day is in the period (lake.metrics.readings,
R iglu definitions), ADRR over its local days, and the metrics iglu computes on its interpolated
grid (MAGE `ma` on a 5-minute grid; MODD, CONGA 24 h and the episode counts per the 2023 consensus
on the subject's automatic grid step) plus active_pct and period_active_pct (from the reading
times), passed in as `grid_metrics` (subject_id + those columns): sequential algorithms run
outside Ibis.

How much data stands behind the numbers (beyond DESIGN's contract columns):
- active_pct is iglu's default (automatic range): the share of expected readings present between
  the subject's FIRST and LAST reading of the period, so days without data at either end of the
  period do not lower it;
- period_active_pct counts the whole period (iglu's manual range over it): 100 * readings /
  (period minutes / the subject's reading interval), the consensus's "% time CGM active";
- days_with_readings: local days of the period with at least one reading;
- sufficient_data: the period is at least 14 days and period_active_pct is at least 70%, the
  international consensus's minimum for the metrics to represent the subject (Battelino 2019).

Units: glucose statistics (mean, median, SD, min, max, MAGE, MODD, CONGA) in mg/dL; pct_*,
active_pct, period_active_pct, cv_pct, gmi_pct, ea1c_pct in %; LBGI, HBGI, ADRR, J-index and GRI
unitless indices; episode counts per period; n_readings and days_with_readings counts.
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

from lake.metrics.readings import adrr, reading_metrics

COLUMNS = ["subject_id", "period_start", "period_end", "n_readings", "active_pct", "mean_mg_dl",
           "median_mg_dl", "sd_mg_dl", "cv_pct", "gmi_pct", "ea1c_pct", "pct_below_54", "pct_below_70",
           "pct_70_180", "pct_above_180", "pct_above_250", "min_mg_dl", "max_mg_dl", "lbgi", "hbgi",
           "adrr", "gri", "j_index", "mage", "modd", "conga_24h", "hypo_l1_episodes", "hypo_l2_episodes",
           "hyper_l1_episodes", "hyper_l2_episodes", "extended_hypo_episodes", "days_with_readings",
           "period_active_pct", "sufficient_data"]
# The international consensus (Battelino et al. 2019): at least 14 days with the CGM active >= 70%.
SUFFICIENT_DAYS, SUFFICIENT_ACTIVE_PCT = 14, 70.0


def in_period(glucose_readings: ir.Table, period_start: date, period_end: date) -> ir.Table:
    """Readings whose local day is in [period_start, period_end]."""
    return glucose_readings.filter(glucose_readings.local_day.between(period_start, period_end))


def glucose_summary(glucose_readings: ir.Table, grid_metrics: ir.Table, period_start: date,
                    period_end: date) -> ir.Table:
    """One row per subject for the period: reading metrics joined to `grid_metrics`."""
    t = in_period(glucose_readings, period_start, period_end)
    metrics = t.group_by("subject_id").aggregate(**reading_metrics(t),
                                                 days_with_readings=t.local_day.nunique())
    joined = metrics.join(adrr(t, ["subject_id"]), "subject_id").left_join(grid_metrics, "subject_id")
    long_enough = (period_end - period_start).days + 1 >= SUFFICIENT_DAYS
    active_enough = (joined.period_active_pct >= SUFFICIENT_ACTIVE_PCT).fill_null(False)
    sufficient = ibis.literal(long_enough) & active_enough
    return joined.mutate(period_start=ibis.literal(period_start), period_end=ibis.literal(period_end),
                         sufficient_data=sufficient).select(COLUMNS)
