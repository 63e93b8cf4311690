"""Checks of the bronze tables beyond keys and times (see test_keys_and_times.py)."""

from __future__ import annotations

import polars as pl
import pytest

from lake.checks import bronze
from tests.checks.helpers import assert_flags_rows, assert_passes


def test_ts_source_check_flags_sources_the_transform_never_sets_and_missing_ones():
    check_fn = bronze.check_bronze_entries_ts_source_known
    assert_passes(check_fn, pl.DataFrame({"ts_source": ["date", "date_seconds", "sysTime", "dateString"]}))
    assert_flags_rows(check_fn, pl.DataFrame({"ts_source": ["date", "guess", None]}), [1, 2])


def test_entry_type_check_flags_free_form_types_but_not_untyped_entries():
    check_fn = bronze.check_bronze_entries_entry_type_known
    assert_passes(check_fn, pl.DataFrame({"entry_type": ["sgv", "mbg", "cal", None]}))
    assert_flags_rows(check_fn, pl.DataFrame({"entry_type": ["sgv", None, "sensor"]}), [2])


def test_direction_check_flags_arrows_nightscout_does_not_know_case_sensitively():
    check_fn = bronze.check_bronze_entries_direction_known
    assert_passes(check_fn, pl.DataFrame({"direction": ["Flat", "NOT COMPUTABLE", "TripleDown", None]}))
    assert_flags_rows(check_fn, pl.DataFrame({"direction": ["Flat", "flat", "DoubleDown", "Up"]}), [1, 3])


def test_trend_check_flags_numbers_outside_0_to_9():
    check_fn = bronze.check_bronze_entries_trend_known
    assert_passes(check_fn, pl.DataFrame({"trend": [0, 4, 9, None]}))
    assert_flags_rows(check_fn, pl.DataFrame({"trend": [4, 10, -1]}), [1, 2])


def test_noise_check_accepts_xdrip_level_5_and_flags_higher():
    check_fn = bronze.check_bronze_entries_noise_known
    assert_passes(check_fn, pl.DataFrame({"noise": [0, 1, 5, None]}))
    assert_flags_rows(check_fn, pl.DataFrame({"noise": [1, 6]}), [1])


def test_glucose_check_keeps_error_codes_and_high_but_flags_sgv_or_mbg_outside_0_to_1000():
    check_fn = bronze.check_bronze_entries_glucose_plausible
    assert_passes(check_fn, pl.DataFrame({"sgv_mg_dl": [5.0, 401.0, None], "mbg_mg_dl": [None, None, 131.0]}))
    frame = pl.DataFrame({"sgv_mg_dl": [120.0, 1200.0, None, -1.0], "mbg_mg_dl": [None, None, 2000.0, None]})
    assert_flags_rows(check_fn, frame, [1, 2, 3])


@pytest.mark.parametrize("check_fn", [bronze.check_bronze_entries_utc_offset_plausible,
                                      bronze.check_bronze_treatments_utc_offset_plausible,
                                      bronze.check_bronze_devicestatus_utc_offset_plausible],
                         ids=lambda fn: fn.__name__)
def test_utc_offset_check_flags_offsets_beyond_real_time_zones(check_fn):
    assert_passes(check_fn, pl.DataFrame({"utc_offset_min": [-720, 0, 60, 840, None]}))
    assert_flags_rows(check_fn, pl.DataFrame({"utc_offset_min": [60, 900, -780]}), [1, 2])


def test_insulin_check_accepts_no_insulin_and_flags_negative_or_over_50_units():
    check_fn = bronze.check_bronze_treatments_insulin_plausible
    assert_passes(check_fn, pl.DataFrame({"insulin_units": [0.0, 4.5, 50.0, None]}))
    assert_flags_rows(check_fn, pl.DataFrame({"insulin_units": [4.5, -1.0, 55.0]}), [1, 2])


def test_carbs_check_flags_negative_or_over_300_grams():
    check_fn = bronze.check_bronze_treatments_carbs_plausible
    assert_passes(check_fn, pl.DataFrame({"carbs_g": [0.0, 45.0, 300.0, None]}))
    assert_flags_rows(check_fn, pl.DataFrame({"carbs_g": [45.0, 350.0, -5.0]}), [1, 2])


def test_devicestatus_battery_check_flags_either_battery_outside_0_to_100():
    check_fn = bronze.check_bronze_devicestatus_battery_pct_in_range
    assert_passes(check_fn, pl.DataFrame({"uploader_battery_pct": [78.0, None],
                                          "pump_battery_pct": [None, 100.0]}))
    frame = pl.DataFrame({"uploader_battery_pct": [78.0, 120.0, None],
                          "pump_battery_pct": [70.0, None, -1.0]})
    assert_flags_rows(check_fn, frame, [1, 2])


def test_quarantine_resource_check_flags_unknown_and_missing_resources():
    check_fn = bronze.check_bronze_quarantine_resource_known
    assert_passes(check_fn, pl.DataFrame({"resource": ["entries", "treatments", "devicestatus", "profile"]}))
    assert_flags_rows(check_fn, pl.DataFrame({"resource": ["entries", "food", None]}), [1, 2])


def test_quarantine_reason_check_flags_rows_without_a_reason():
    check_fn = bronze.check_bronze_quarantine_reject_reason_present
    reasons = ["not a JSON object", "no usable timestamp (created_at)"]
    assert_passes(check_fn, pl.DataFrame({"reject_reason": reasons}))
    assert_flags_rows(check_fn, pl.DataFrame({"reject_reason": ["not a JSON object", None, ""]}), [1, 2])
