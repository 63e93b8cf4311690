"""CGM metrics that are aggregates over raw readings, as Ibis expressions (R iglu defaults).

Input: a table of readings with `glucose_mg_dl` (float64, mg/dL) and `local_ts` (naive local
wall-clock timestamp). Every reading weighs the same (no time weighting, no interpolation), as in
iglu. Values are used as reported: 39 (sensor LOW) and 401 (sensor HIGH) count as those numbers.
Null glucose is ignored, so percentages are over readings with a value.

Definitions (units in the names; risk indices are unitless):
* median: R type 7 (mean of the two middle values for an even count); sd: sample SD (n - 1).
* cv_pct = 100 * sd / mean; gmi_pct = 3.31 + 0.02392 * mean (Bergenstal 2018);
  ea1c_pct = (46.7 + mean) / 28.7 (ADAG, Nathan 2008).
* pct_below_T: % of readings < T (strict; below 70 includes below 54: cumulative, as iglu, not
  the 54-69 band of the 2019 consensus); pct_above_T: % > T (strict, cumulative);
  pct_70_180: % with 70 <= glucose <= 180 (inclusive).
* LBGI/HBGI (Kovatchev): f = ln(g)^1.084 - 5.381; LBGI = 22.77 * sum over g < 112.5 of
  min(f, 0)^2 / n, HBGI = 22.77 * sum over g >= 112.5 of max(f, 0)^2 / n. 22.77 is R iglu's
  constant; iglu_python uses 10 * 1.509^2 = 22.7708 (3.6e-5 higher).
* ADRR: for each local calendar day LR = 22.77 * min(min f, 0)^2, HR = 22.77 * max(max f, 0)^2;
  ADRR = mean over days of LR + HR (partial days included, as iglu).
* j_index = 0.001 * (mean + sd)^2.
* GRI (Klonoff 2023) = 3.0 * %<54 + 2.4 * %[54,70) + 1.6 * %>250 + 0.8 * %(180,250], capped at
  100. R iglu's gri averages readings with identical timestamps first; here each row counts.
"""

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
from ibis import _

RISK_SCALE = 22.77  # R iglu's constant for LBGI, HBGI and ADRR


def _pct(condition: ir.BooleanValue) -> ir.FloatingScalar:
    """% of readings where condition holds; null glucose gives a null condition, not counted."""
    return 100 * condition.cast("float64").mean()


def _risk_f(glucose: ir.FloatingValue) -> ir.FloatingValue:
    """Kovatchev's symmetrising transform of glucose in mg/dL (about 0 at 112.5 mg/dL)."""
    return glucose.ln() ** 1.084 - 5.381


def reading_metrics(t: ir.Table) -> dict[str, ir.Scalar]:
    """Named aggregate expressions over `t`'s readings: `t.group_by(keys).aggregate(**...)`.

    Returns:
        n_readings, mean_mg_dl, median_mg_dl, sd_mg_dl, cv_pct, gmi_pct, ea1c_pct,
        pct_below_54, pct_below_70, pct_70_180, pct_above_180, pct_above_250, min_mg_dl,
        max_mg_dl, lbgi, hbgi, j_index, gri.
    """
    g = t.glucose_mg_dl
    mean, sd = g.mean(), g.std(how="sample")
    f = _risk_f(g)
    below_54, below_70 = _pct(g < 54), _pct(g < 70)
    above_180, above_250 = _pct(g > 180), _pct(g > 250)
    gri = 3.0 * below_54 + 2.4 * (below_70 - below_54) + 1.6 * above_250 + 0.8 * (above_180 - above_250)
    return {
        "n_readings": g.count(),
        "mean_mg_dl": mean,
        # compiles to QUANTILE_CONT(x, 0.5) on DuckDB: interpolating, R type 7
        "median_mg_dl": g.median(),
        "sd_mg_dl": sd,
        "cv_pct": 100 * sd / mean,
        "gmi_pct": 3.31 + 0.02392 * mean,
        "ea1c_pct": (46.7 + mean) / 28.7,
        "pct_below_54": below_54,
        "pct_below_70": below_70,
        "pct_70_180": _pct(g.between(70, 180)),
        "pct_above_180": above_180,
        "pct_above_250": above_250,
        "min_mg_dl": g.min(),
        "max_mg_dl": g.max(),
        "lbgi": RISK_SCALE * ibis.ifelse(g < 112.5, ibis.least(f, 0) ** 2, 0).sum() / g.count(),
        "hbgi": RISK_SCALE * ibis.ifelse(g >= 112.5, ibis.greatest(f, 0) ** 2, 0).sum() / g.count(),
        "j_index": 0.001 * (mean + sd) ** 2,
        # not ibis.least: DuckDB's LEAST skips nulls, so a group without readings would get 100
        "gri": ibis.ifelse(gri > 100, 100.0, gri),
    }


def adrr(t: ir.Table, keys: Sequence[str]) -> ir.Table:
    """Average daily risk range per group: a table of `keys` + `adrr`.

    Days are calendar days of `local_ts`; readings with null glucose are left out first.
    """
    readings = t.filter(t.glucose_mg_dl.notnull())
    f = _risk_f(readings.glucose_mg_dl)
    daily = readings.group_by(*keys, day=readings.local_ts.date()).aggregate(
        low_risk=RISK_SCALE * ibis.least(f.min(), 0) ** 2,
        high_risk=RISK_SCALE * ibis.greatest(f.max(), 0) ** 2,
    )
    by_keys = daily.group_by(*keys) if keys else daily  # no keys: one ADRR over all readings
    return by_keys.aggregate(adrr=(_.low_risk + _.high_risk).mean())
