"""Checks of the gold tables: CGM metrics computed by us, so their invariants are hard.

Percentages lie in 0..100, the cumulative bands nest (below 54 within below 70, above 250 within
above 180), the three TIR bands (below 70, 70-180 inclusive, above 180) add up to 100 wherever
there are readings, summary statistics are ordered (min <= median, mean <= max), AGP percentiles
are ordered, episodes end after they start. A percentage may be null only where a group has no
readings (iglu gives NA there); the band sum check catches a null next to readings.
"""

from __future__ import annotations

import polars as pl

from lake.checks import check
from lake.checks.bronze import (
    EARLIEST_DAY,
    day_in_future,
    in_future,
    known_after_2000,
    null_key,
    repeated_key,
)
from lake.checks.silver import stale_subjects

PERCENT_COLUMNS = ["active_pct", "pct_below_54", "pct_below_70", "pct_70_180", "pct_above_180",
                   "pct_above_250",
                   "gri"]  # GRI is an index on a 0-100 scale (capped at 100), not a percentage
# Floating-point sums and means of exact values are off by ~1e-13; 1e-9 is far above that and far
# below any real disagreement.
TOLERANCE = 1e-9
DAY_KEY = ["subject_id", "day"]
PERIOD_KEY = ["subject_id", "period_start", "period_end"]
AGP_KEY = [*PERIOD_KEY, "minute_of_day"]
PERCENTILES = ["p05", "p25", "p50", "p75", "p95"]
# Episodes are found on the local grid, so their identity is the local start.
EPISODE_KEY = [*PERIOD_KEY, "kind", "level", "start_local_ts"]
EPISODE_KINDS = ["hypo/l1", "hypo/l2", "hypo/extended", "hyper/l1", "hyper/l2"]
EXTENDED_MIN = 120


def percent_outside_0_100(df: pl.DataFrame) -> pl.DataFrame:
    """Rows with a percentage column present and outside 0..100."""
    return df.filter(pl.any_horizontal(
        pl.col(c).is_not_null() & ~pl.col(c).is_between(0, 100) for c in PERCENT_COLUMNS))


def period_active_above_100(df: pl.DataFrame) -> pl.DataFrame:
    """Above 100 only when readings came more often than their usual interval (iglu does not cap
    it): a device sending twice, worth a look, not wrong (soft)."""
    return df.filter(pl.col("period_active_pct") > 100)


def bands_not_nested(df: pl.DataFrame) -> pl.DataFrame:
    """Rows where a level 2 band exceeds its level 1 band (< 54 vs < 70, > 250 vs > 180)."""
    return df.filter((pl.col("pct_below_54") > pl.col("pct_below_70"))
                     | (pl.col("pct_above_250") > pl.col("pct_above_180")))


def bands_not_summing_to_100(df: pl.DataFrame) -> pl.DataFrame:
    """Rows with readings whose below 70 + 70..180 + above 180 is not 100 (or is null)."""
    total = pl.col("pct_below_70") + pl.col("pct_70_180") + pl.col("pct_above_180")
    off = ((total - 100).abs() > TOLERANCE).fill_null(True)
    return df.filter((pl.col("n_readings") > 0) & off)


def stats_out_of_order(df: pl.DataFrame) -> pl.DataFrame:
    """Rows where min <= median <= max or min <= mean <= max fails (nulls are not judged)."""
    low, high = pl.col("min_mg_dl"), pl.col("max_mg_dl")
    return df.filter((low > pl.col("median_mg_dl")) | (pl.col("median_mg_dl") > high)
                     | (pl.col("mean_mg_dl") < low - TOLERANCE) | (pl.col("mean_mg_dl") > high + TOLERANCE))


# gold.daily_glucose --------------------------------------------------------------------------

@check("gold.daily_glucose", "hard")
def check_gold_daily_glucose_key_not_null(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(null_key(DAY_KEY))


@check("gold.daily_glucose", "hard")
def check_gold_daily_glucose_key_unique(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(repeated_key(DAY_KEY))


@check("gold.daily_glucose", "hard")
def check_gold_daily_glucose_percentages_in_range(df: pl.DataFrame) -> pl.DataFrame:
    return percent_outside_0_100(df)


@check("gold.daily_glucose", "hard")
def check_gold_daily_glucose_bands_nested(df: pl.DataFrame) -> pl.DataFrame:
    return bands_not_nested(df)


@check("gold.daily_glucose", "hard")
def check_gold_daily_glucose_bands_sum_to_100(df: pl.DataFrame) -> pl.DataFrame:
    return bands_not_summing_to_100(df)


@check("gold.daily_glucose", "hard")
def check_gold_daily_glucose_stats_ordered(df: pl.DataFrame) -> pl.DataFrame:
    return stats_out_of_order(df)


@check("gold.daily_glucose", "soft")
def check_gold_daily_glucose_period_active_pct_at_most_100(df: pl.DataFrame) -> pl.DataFrame:
    return period_active_above_100(df)


@check("gold.daily_glucose", "hard")
def check_gold_daily_glucose_day_after_2000(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(~(pl.col("day") >= EARLIEST_DAY).fill_null(False))


@check("gold.daily_glucose", "soft")
def check_gold_daily_glucose_day_not_in_future(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(day_in_future("day"))


@check("gold.daily_glucose", "soft", across_subjects=("day",))
def check_gold_daily_glucose_subject_fresh(df: pl.DataFrame) -> pl.DataFrame:
    """Subjects whose newest day is over 3 days before the batch's newest day (see the silver
    freshness check: only rebuilt days are seen)."""
    return stale_subjects(df, "day", "newest_day")


# gold.daily_treatments -----------------------------------------------------------------------

@check("gold.daily_treatments", "hard")
def check_gold_daily_treatments_key_not_null(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(null_key(DAY_KEY))


@check("gold.daily_treatments", "hard")
def check_gold_daily_treatments_key_unique(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(repeated_key(DAY_KEY))


@check("gold.daily_treatments", "hard")
def check_gold_daily_treatments_totals_match_counts(df: pl.DataFrame) -> pl.DataFrame:
    """A day has a row only with an event; a total is positive exactly when its count is (silver
    events all have amounts > 0)."""
    boluses, carbs = pl.col("n_boluses"), pl.col("n_carb_entries")
    agrees = (((boluses > 0) == (pl.col("bolus_units") > 0))
              & ((carbs > 0) == (pl.col("carbs_g") > 0))
              & (boluses >= 0) & (carbs >= 0) & (boluses + carbs > 0))
    return df.filter(~agrees.fill_null(False))


@check("gold.daily_treatments", "hard")
def check_gold_daily_treatments_day_after_2000(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(~(pl.col("day") >= EARLIEST_DAY).fill_null(False))


@check("gold.daily_treatments", "soft")
def check_gold_daily_treatments_day_not_in_future(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(day_in_future("day"))


# gold.glucose_summary ------------------------------------------------------------------------

@check("gold.glucose_summary", "hard")
def check_gold_glucose_summary_key_not_null(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(null_key(PERIOD_KEY))


@check("gold.glucose_summary", "hard")
def check_gold_glucose_summary_key_unique(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(repeated_key(PERIOD_KEY))


@check("gold.glucose_summary", "hard")
def check_gold_glucose_summary_period_ordered(df: pl.DataFrame) -> pl.DataFrame:
    """period_start on or after 2000-01-01 and not after period_end."""
    ok = (pl.col("period_start") >= EARLIEST_DAY) & (pl.col("period_start") <= pl.col("period_end"))
    return df.filter(~ok.fill_null(False))


@check("gold.glucose_summary", "hard")
def check_gold_glucose_summary_percentages_in_range(df: pl.DataFrame) -> pl.DataFrame:
    return percent_outside_0_100(df)


@check("gold.glucose_summary", "hard")
def check_gold_glucose_summary_bands_nested(df: pl.DataFrame) -> pl.DataFrame:
    return bands_not_nested(df)


@check("gold.glucose_summary", "hard")
def check_gold_glucose_summary_bands_sum_to_100(df: pl.DataFrame) -> pl.DataFrame:
    return bands_not_summing_to_100(df)


@check("gold.glucose_summary", "hard")
def check_gold_glucose_summary_stats_ordered(df: pl.DataFrame) -> pl.DataFrame:
    return stats_out_of_order(df)


@check("gold.glucose_summary", "hard")
def check_gold_glucose_summary_days_with_readings_within_period(df: pl.DataFrame) -> pl.DataFrame:
    """A row exists because the subject has readings: 1 .. the period's number of days."""
    period_days = (pl.col("period_end") - pl.col("period_start")).dt.total_days() + 1
    return df.filter(~pl.col("days_with_readings").is_between(1, period_days).fill_null(False))


@check("gold.glucose_summary", "soft")
def check_gold_glucose_summary_period_active_pct_at_most_100(df: pl.DataFrame) -> pl.DataFrame:
    return period_active_above_100(df)


# gold.agp ------------------------------------------------------------------------------------

@check("gold.agp", "hard")
def check_gold_agp_key_not_null(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(null_key(AGP_KEY))


@check("gold.agp", "hard")
def check_gold_agp_key_unique(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(repeated_key(AGP_KEY))


@check("gold.agp", "hard")
def check_gold_agp_minute_of_day_in_day(df: pl.DataFrame) -> pl.DataFrame:
    # iglu's grid columns run dt0, 2*dt0, ..., 1440 (the next midnight); 0 is never one.
    return df.filter(~pl.col("minute_of_day").is_between(1, 1440).fill_null(False))


@check("gold.agp", "hard")
def check_gold_agp_percentiles_ordered(df: pl.DataFrame) -> pl.DataFrame:
    """p05 <= p25 <= p50 <= p75 <= p95 (nulls, where no day has a value, are not judged)."""
    pairs = zip(PERCENTILES, PERCENTILES[1:])
    return df.filter(pl.any_horizontal(pl.col(lower) > pl.col(upper) + TOLERANCE for lower, upper in pairs))


@check("gold.agp", "hard")
def check_gold_agp_percentiles_present_with_days(df: pl.DataFrame) -> pl.DataFrame:
    """Every percentile is known where n_days > 0 and none is where n_days == 0."""
    all_known = pl.all_horizontal(pl.col(PERCENTILES).is_not_null())
    none_known = pl.all_horizontal(pl.col(PERCENTILES).is_null())
    n_days = pl.col("n_days")
    ok = ((n_days > 0) & all_known) | ((n_days == 0) & none_known)
    return df.filter(~ok.fill_null(False))


# gold.glucose_episodes -----------------------------------------------------------------------

@check("gold.glucose_episodes", "hard")
def check_gold_glucose_episodes_key_not_null(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(null_key(EPISODE_KEY))


@check("gold.glucose_episodes", "hard")
def check_gold_glucose_episodes_key_unique(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(repeated_key(EPISODE_KEY))


@check("gold.glucose_episodes", "hard")
def check_gold_glucose_episodes_kind_and_level_known(df: pl.DataFrame) -> pl.DataFrame:
    """kind 'hypo'|'hyper' with level 'l1'|'l2'; 'extended' exists for hypo only."""
    kind_level = pl.concat_str(pl.col("kind"), pl.col("level"), separator="/")
    return df.filter(~kind_level.is_in(EPISODE_KINDS).fill_null(False))


@check("gold.glucose_episodes", "hard")
def check_gold_glucose_episodes_end_not_before_start(df: pl.DataFrame) -> pl.DataFrame:
    ok = (pl.col("end_ts") >= pl.col("start_ts")) & (pl.col("end_local_ts") >= pl.col("start_local_ts"))
    return df.filter(~ok.fill_null(False))


@check("gold.glucose_episodes", "hard")
def check_gold_glucose_episodes_duration_positive(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(~(pl.col("duration_min") > 0).fill_null(False))


@check("gold.glucose_episodes", "hard")
def check_gold_glucose_episodes_extended_longer_than_120_min(df: pl.DataFrame) -> pl.DataFrame:
    # By definition: below 70 for more than 120 minutes.
    long_enough = (pl.col("duration_min") > EXTENDED_MIN).fill_null(False)
    return df.filter((pl.col("level") == "extended") & ~long_enough)


@check("gold.glucose_episodes", "hard")
def check_gold_glucose_episodes_start_ts_after_2000(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(~known_after_2000("start_ts"))


@check("gold.glucose_episodes", "soft")
def check_gold_glucose_episodes_end_ts_not_in_future(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(in_future("end_ts"))
