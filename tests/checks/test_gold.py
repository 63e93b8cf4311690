"""Checks of the gold tables beyond keys and times (see test_keys_and_times.py)."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from lake.checks import gold
from tests.checks.helpers import assert_flags_rows, assert_passes

PERCENTS = ["active_pct", "pct_below_54", "pct_below_70", "pct_70_180", "pct_above_180", "pct_above_250",
            "gri"]


def metrics(**changes) -> dict:
    """One consistent row of daily/summary reading metrics, with `changes` applied."""
    row = {"n_readings": 288, "active_pct": 90.0, "pct_below_54": 5.0, "pct_below_70": 20.0,
           "pct_70_180": 50.0, "pct_above_180": 30.0, "pct_above_250": 10.0, "gri": 40.0,
           "min_mg_dl": 40.0, "median_mg_dl": 120.0, "mean_mg_dl": 130.0, "max_mg_dl": 300.0}
    return row | changes


NO_READINGS = metrics(n_readings=0, **dict.fromkeys(PERCENTS, None), min_mg_dl=None, median_mg_dl=None,
                      mean_mg_dl=None, max_mg_dl=None)
# 1, 4 and 1 readings of 6, as the metrics compute them: their float sum is 100 + 1.4e-14.
SIXTHS = metrics(n_readings=6, pct_below_70=100 * 1 / 6, pct_70_180=100 * 4 / 6, pct_above_180=100 * 1 / 6)


def frame(*rows: dict) -> pl.DataFrame:
    floats = [name for name in rows[0] if name != "n_readings"]
    return pl.DataFrame(list(rows), schema={"n_readings": pl.Int64} | dict.fromkeys(floats, pl.Float64))


def by_table(rule: str) -> list:
    return [getattr(gold, f"check_gold_{table}_{rule}") for table in ("daily_glucose", "glucose_summary")]


def name_of(check_fn) -> str:
    return check_fn.__name__


@pytest.mark.parametrize("check_fn", by_table("percentages_in_range"), ids=name_of)
def test_percentage_check_flags_values_outside_0_to_100_but_not_nulls_of_an_empty_group(check_fn):
    assert_passes(check_fn, frame(metrics(), metrics(pct_below_70=0.0, pct_above_180=100.0), NO_READINGS))
    bad = frame(metrics(), metrics(active_pct=100.5), metrics(pct_above_250=-0.1), metrics(gri=None))
    assert_flags_rows(check_fn, bad, [1, 2])


@pytest.mark.parametrize("check_fn", by_table("bands_nested"), ids=name_of)
def test_nesting_check_flags_a_level_2_band_larger_than_its_level_1_band(check_fn):
    assert_passes(check_fn, frame(metrics(), metrics(pct_below_54=20.0), NO_READINGS))
    bad = frame(metrics(), metrics(pct_below_54=25.0), metrics(pct_above_250=35.0))
    assert_flags_rows(check_fn, bad, [1, 2])


@pytest.mark.parametrize("check_fn", by_table("bands_sum_to_100"), ids=name_of)
def test_band_sum_check_flags_bands_not_adding_to_100_where_there_are_readings(check_fn):
    assert_passes(check_fn, frame(metrics(), SIXTHS, NO_READINGS))
    bad = frame(metrics(), metrics(pct_70_180=50.1), metrics(pct_below_70=None),
                NO_READINGS | {"pct_70_180": 0.0})
    assert_flags_rows(check_fn, bad, [1, 2])


@pytest.mark.parametrize("check_fn", by_table("stats_ordered"), ids=name_of)
def test_stats_check_flags_a_median_or_mean_outside_min_to_max(check_fn):
    assert_passes(check_fn, frame(metrics(), metrics(min_mg_dl=120.0, median_mg_dl=120.0, mean_mg_dl=120.0,
                                                     max_mg_dl=120.0), NO_READINGS))
    bad = frame(metrics(), metrics(median_mg_dl=301.0), metrics(mean_mg_dl=39.9), metrics(min_mg_dl=None))
    assert_flags_rows(check_fn, bad, [1, 2])


def test_daily_freshness_check_flags_subjects_more_than_3_days_behind_the_newest_day():
    check_fn = gold.check_gold_daily_glucose_subject_fresh
    assert_passes(check_fn, pl.DataFrame({"subject_id": ["s1", "s2"],
                                          "day": [date(2024, 3, 10), date(2024, 3, 7)]}))
    days = pl.DataFrame({"subject_id": ["s1", "s1", "s2", "s3"],
                         "day": [date(2024, 3, 9), date(2024, 3, 10), date(2024, 3, 6), date(2024, 3, 7)]})
    expected = pl.DataFrame({"subject_id": ["s2"], "newest_day": [date(2024, 3, 6)],
                             "batch_newest_day": [date(2024, 3, 10)]})
    assert_frame_equal(check_fn(days), expected)


def test_treatment_totals_check_flags_totals_that_disagree_with_counts_and_empty_days():
    check_fn = gold.check_gold_daily_treatments_totals_match_counts
    columns = ["bolus_units", "carbs_g", "n_boluses", "n_carb_entries"]
    good = [(4.5, 0.0, 1, 0), (0.0, 45.0, 0, 1), (10.0, 60.0, 2, 3)]
    assert_passes(check_fn, pl.DataFrame(good, schema=columns, orient="row"))
    bad = [(4.5, 0.0, 1, 0), (0.0, 45.0, 1, 1), (4.5, 0.0, 0, 0), (0.0, 0.0, 0, 0), (None, 45.0, 0, 1)]
    assert_flags_rows(check_fn, pl.DataFrame(bad, schema=columns, orient="row"), [1, 2, 3, 4])


def test_period_check_flags_a_start_after_the_end_or_before_2000():
    check_fn = gold.check_gold_glucose_summary_period_ordered
    assert_passes(check_fn, pl.DataFrame({"period_start": [date(2024, 3, 1), date(2024, 3, 1)],
                                          "period_end": [date(2024, 3, 14), date(2024, 3, 1)]}))
    bad = pl.DataFrame({"period_start": [date(2024, 3, 1), date(2024, 3, 15), date(1999, 12, 1),
                                         date(2024, 3, 1)],
                        "period_end": [date(2024, 3, 14), date(2024, 3, 14), date(2024, 3, 14), None]})
    assert_flags_rows(check_fn, bad, [1, 2, 3])


def test_days_with_readings_check_flags_counts_outside_one_to_the_period_length():
    check_fn = gold.check_gold_glucose_summary_days_with_readings_within_period
    start = date(2024, 3, 1)
    frame = pl.DataFrame({"period_start": [start] * 5, "period_end": [date(2024, 3, 14)] * 5,
                          "days_with_readings": [1, 14, 0, 15, None]})
    assert_passes(check_fn, frame.head(2))
    assert_flags_rows(check_fn, frame, [2, 3, 4])


@pytest.mark.parametrize("check_fn", [gold.check_gold_glucose_summary_period_active_pct_at_most_100,
                                      gold.check_gold_daily_glucose_period_active_pct_at_most_100])
def test_period_active_pct_check_flags_only_values_above_100(check_fn):
    assert_passes(check_fn, pl.DataFrame({"period_active_pct": [0.0, 64.3, 100.0, None]}))
    assert_flags_rows(check_fn, pl.DataFrame({"period_active_pct": [99.0, 100.5]}), [1])


def test_agp_minute_check_flags_minutes_outside_the_grid_of_one_day():
    check_fn = gold.check_gold_agp_minute_of_day_in_day
    assert_passes(check_fn, pl.DataFrame({"minute_of_day": [5, 720, 1440]}))
    assert_flags_rows(check_fn, pl.DataFrame({"minute_of_day": [5, 0, 1441, None]}), [1, 2, 3])


AGP_COLUMNS = ["p05", "p25", "p50", "p75", "p95", "n_days"]


def agp_frame(*rows: tuple) -> pl.DataFrame:
    schema = dict.fromkeys(AGP_COLUMNS[:-1], pl.Float64) | {"n_days": pl.Int32}
    return pl.DataFrame(rows, schema=schema, orient="row")


def test_agp_percentile_check_flags_a_curve_crossing_the_next_one_up():
    check_fn = gold.check_gold_agp_percentiles_ordered
    assert_passes(check_fn, agp_frame((60, 80, 100, 130, 180, 14), (100, 100, 100, 100, 100, 1),
                                      (None, None, None, None, None, 0)))
    bad = agp_frame((60, 80, 100, 130, 180, 14), (60, 80, 100, 130, 129, 14), (90, 80, 100, 130, 180, 14))
    assert_flags_rows(check_fn, bad, [1, 2])


def test_agp_presence_check_flags_percentiles_missing_with_days_or_present_without():
    check_fn = gold.check_gold_agp_percentiles_present_with_days
    assert_passes(check_fn, agp_frame((60, 80, 100, 130, 180, 3), (None, None, None, None, None, 0)))
    bad = agp_frame((60, 80, 100, 130, 180, 3), (60, 80, 100, 130, 180, 0), (60, 80, None, 130, 180, 2),
                    (None, None, None, None, None, None))
    assert_flags_rows(check_fn, bad, [1, 2, 3])


def test_episode_kind_check_flags_unknown_kinds_and_levels_and_extended_hypers():
    check_fn = gold.check_gold_glucose_episodes_kind_and_level_known
    assert_passes(check_fn, pl.DataFrame({"kind": ["hypo", "hypo", "hypo", "hyper", "hyper"],
                                          "level": ["l1", "l2", "extended", "l1", "l2"]}))
    bad = pl.DataFrame({"kind": ["hypo", "hyper", "hypo", None], "level": ["l1", "extended", "l3", "l1"]})
    assert_flags_rows(check_fn, bad, [1, 2, 3])


def test_episode_time_check_flags_an_end_before_the_start_in_utc_or_local_time():
    check_fn = gold.check_gold_glucose_episodes_end_not_before_start
    start, end = datetime(2024, 3, 1, 3, 0), datetime(2024, 3, 1, 3, 40)
    local_start, local_end = datetime(2024, 3, 1, 4, 0), datetime(2024, 3, 1, 4, 40)
    assert_passes(check_fn, pl.DataFrame({"start_ts": [start, start], "end_ts": [end, start],
                                          "start_local_ts": [local_start, local_start],
                                          "end_local_ts": [local_end, local_start]}))
    bad = pl.DataFrame({"start_ts": [start, end, start], "end_ts": [end, start, None],
                        "start_local_ts": [local_end, local_start, local_start],
                        "end_local_ts": [local_start, local_end, local_end]})
    assert_flags_rows(check_fn, bad, [0, 1, 2])


def test_episode_duration_check_flags_zero_negative_and_missing_durations():
    check_fn = gold.check_gold_glucose_episodes_duration_positive
    assert_passes(check_fn, pl.DataFrame({"duration_min": [15.0, 125.0]}))
    assert_flags_rows(check_fn, pl.DataFrame({"duration_min": [15.0, 0.0, -5.0, None]}), [1, 2, 3])


def test_extended_episode_check_flags_extended_hypos_of_120_minutes_or_less():
    check_fn = gold.check_gold_glucose_episodes_extended_longer_than_120_min
    assert_passes(check_fn, pl.DataFrame({"level": ["extended", "l1"], "duration_min": [125.0, 15.0]}))
    bad = pl.DataFrame({"level": ["extended", "extended", "l1"], "duration_min": [125.0, 120.0, 15.0]})
    assert_flags_rows(check_fn, bad, [1])
