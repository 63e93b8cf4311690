"""Checks of the silver tables beyond keys and times (see test_keys_and_times.py)."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from lake.checks import silver
from tests.checks.helpers import assert_flags_rows, assert_passes

T0 = datetime(2024, 3, 1, 8, 0)
T1 = datetime(2024, 3, 1, 8, 5)


def test_doc_id_check_flags_two_readings_from_one_bronze_document():
    check_fn = silver.check_silver_glucose_readings_doc_id_unique
    assert_passes(check_fn, pl.DataFrame({"subject_id": ["s1", "s1", "s2"], "doc_id": ["a", "b", "a"]}))
    repeated = pl.DataFrame({"subject_id": ["s1", "s1", "s2"], "doc_id": ["a", "a", "a"]})
    assert_flags_rows(check_fn, repeated, [0, 1])


def test_one_reading_per_instant_check_flags_two_devices_at_the_same_instant():
    check_fn = silver.check_silver_glucose_readings_one_reading_per_instant
    assert_passes(check_fn, pl.DataFrame({"subject_id": ["s1", "s1", "s2"], "reading_ts": [T0, T1, T0],
                                          "device": ["A", "B", "B"]}))
    frame = pl.DataFrame({"subject_id": ["s1", "s1", "s2"], "reading_ts": [T0, T0, T0],
                          "device": ["A", "B", "A"]})
    assert_flags_rows(check_fn, frame, [0, 1])


def test_glucose_range_check_keeps_low_and_libre_highs_but_flags_error_codes_absurd_and_missing_values():
    check_fn = silver.check_silver_glucose_readings_glucose_in_range
    assert_passes(check_fn, pl.DataFrame({"glucose_mg_dl": [39.0, 120.0, 401.0, 500.0]}))
    assert_flags_rows(check_fn, pl.DataFrame({"glucose_mg_dl": [120.0, 38.0, 601.0, None]}), [1, 2, 3])


def test_high_marker_check_flags_values_above_401():
    check_fn = silver.check_silver_glucose_readings_glucose_not_above_high_marker
    assert_passes(check_fn, pl.DataFrame({"glucose_mg_dl": [39.0, 250.0, 401.0]}))
    assert_flags_rows(check_fn, pl.DataFrame({"glucose_mg_dl": [401.0, 402.0, 500.0]}), [1, 2])


def test_sensor_flag_check_flags_low_and_high_flags_that_disagree_with_the_value():
    check_fn = silver.check_silver_glucose_readings_sensor_flags_match_glucose
    assert_passes(check_fn, pl.DataFrame({"glucose_mg_dl": [39.0, 120.0, 400.0, 401.0],
                                          "below_sensor_range": [True, False, False, False],
                                          "above_sensor_range": [False, False, False, True]}))
    frame = pl.DataFrame({"glucose_mg_dl": [39.0, 40.0, 400.0, 401.0],
                          "below_sensor_range": [True, True, False, False],
                          "above_sensor_range": [False, False, True, None]})
    assert_flags_rows(check_fn, frame, [1, 2, 3])


def test_silver_direction_check_flags_unknown_arrows_only():
    check_fn = silver.check_silver_glucose_readings_direction_known
    assert_passes(check_fn, pl.DataFrame({"direction": ["SingleUp", "RATE OUT OF RANGE", None]}))
    assert_flags_rows(check_fn, pl.DataFrame({"direction": ["SingleUp", "↑"]}), [1])


def test_silver_trend_check_flags_numbers_outside_0_to_9():
    check_fn = silver.check_silver_glucose_readings_trend_known
    assert_passes(check_fn, pl.DataFrame({"trend": [1, 8, None]}))
    assert_flags_rows(check_fn, pl.DataFrame({"trend": [1, 12]}), [1])


def test_readings_freshness_check_flags_subjects_more_than_3_days_behind_the_newest_reading():
    check_fn = silver.check_silver_glucose_readings_subject_fresh
    assert_passes(check_fn, pl.DataFrame({"subject_id": ["s1", "s1", "s2"], "reading_ts": [
        datetime(2024, 3, 1), datetime(2024, 3, 10, 12), datetime(2024, 3, 9)]}))
    frame = pl.DataFrame({"subject_id": ["s1", "s1", "s2", "s3"], "reading_ts": [
        datetime(2024, 3, 1), datetime(2024, 3, 10, 12),
        datetime(2024, 3, 7, 12),  # exactly 3 days behind: still fresh
        datetime(2024, 3, 7, 11, 59)]})
    expected = pl.DataFrame({"subject_id": ["s3"], "newest_reading_ts": [datetime(2024, 3, 7, 11, 59)],
                             "batch_newest_reading_ts": [datetime(2024, 3, 10, 12)]})
    assert_frame_equal(check_fn(frame), expected)


def test_sensor_error_check_flags_values_of_39_and_above_and_missing_values():
    check_fn = silver.check_silver_sensor_errors_sgv_below_39
    assert_passes(check_fn, pl.DataFrame({"sgv_value": [1.0, 10.0, 38.6]}))
    assert_flags_rows(check_fn, pl.DataFrame({"sgv_value": [5.0, 39.0, None]}), [1, 2])


def test_sensor_error_check_warns_of_a_value_that_is_no_code():
    check_fn = silver.check_silver_sensor_errors_sgv_is_a_code
    assert_passes(check_fn, pl.DataFrame({"error_code": [1, 38]}))
    assert_flags_rows(check_fn, pl.DataFrame({"error_code": [5, None]}), [1])


def test_known_error_code_check_flags_codes_nightscout_does_not_define():
    check_fn = silver.check_silver_sensor_errors_error_code_known
    assert_passes(check_fn, pl.DataFrame({"error_code": [1, 5, 9, 38]}))
    assert_flags_rows(check_fn, pl.DataFrame({"error_code": [9, 4, 0]}), [1, 2])


def test_bolus_check_flags_zero_and_more_than_50_units():
    check_fn = silver.check_silver_insulin_boluses_units_plausible
    assert_passes(check_fn, pl.DataFrame({"insulin_units": [0.05, 4.5, 50.0]}))
    assert_flags_rows(check_fn, pl.DataFrame({"insulin_units": [4.5, 0.0, 55.0, None]}), [1, 2, 3])


def test_carb_check_flags_zero_and_more_than_300_grams():
    check_fn = silver.check_silver_carb_intakes_grams_plausible
    assert_passes(check_fn, pl.DataFrame({"carbs_g": [1.0, 45.0, 300.0]}))
    assert_flags_rows(check_fn, pl.DataFrame({"carbs_g": [45.0, 0.0, 301.0]}), [1, 2])


@pytest.mark.parametrize("column", ["uploader_battery_pct", "pump_battery_pct"])
def test_device_status_battery_check_flags_percentages_outside_0_to_100(column: str):
    other = "pump_battery_pct" if column == "uploader_battery_pct" else "uploader_battery_pct"
    check_fn = silver.check_silver_device_status_battery_pct_in_range
    assert_passes(check_fn, pl.DataFrame({column: [0.0, 100.0, None], other: [50.0, None, None]}))
    assert_flags_rows(check_fn, pl.DataFrame({column: [78.0, 100.5], other: [50.0, 50.0]}), [1])
