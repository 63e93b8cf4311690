"""The rules every table shares: key not null, key unique, times after 2000 and not in the future.

Each table's key is written out by hand as two distinct rows; the failing frames are made from
them by repeating a row or blanking one key column.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from lake.checks import bronze, gold, silver
from lake.checks.bronze import repeated_key
from tests.checks.helpers import assert_flags_rows, assert_passes

T0 = datetime(2024, 3, 1, 8, 0)
T1 = datetime(2024, 3, 1, 8, 5)
D0, D1 = date(2024, 3, 1), date(2024, 3, 2)

# table -> (module, {key column: two values}); row 0 and row 1 are different keys.
KEYS = {
    "bronze.entries": (bronze, {"subject_id": ["s1", "s1"], "doc_id": ["a", "b"]}),
    "bronze.treatments": (bronze, {"subject_id": ["s1", "s2"], "doc_id": ["a", "a"]}),
    "bronze.devicestatus": (bronze, {"subject_id": ["s1", "s1"], "doc_id": ["a", "sha256:9f"]}),
    "bronze.quarantine": (bronze, {"subject_id": ["s1", "s1"], "resource": ["entries", "treatments"],
                                   "doc_id": ["a", "a"]}),
    "silver.glucose_readings": (silver, {"subject_id": ["s1", "s1"], "reading_ts": [T0, T0],
                                         "device": ["xDrip-DexcomG6", "loop://iPhone"]}),
    "silver.sensor_errors": (silver, {"subject_id": ["s1", "s1"], "doc_id": ["a", "b"]}),
    "silver.insulin_boluses": (silver, {"subject_id": ["s1", "s1"], "treatment_ts": [T0, T0],
                                        "insulin_units": [4.5, 1.0]}),
    "silver.carb_intakes": (silver, {"subject_id": ["s1", "s1"], "treatment_ts": [T0, T1],
                                     "carbs_g": [45.0, 45.0]}),
    "silver.device_status": (silver, {"subject_id": ["s1", "s1"], "status_ts": [T0, T0],
                                      "device": ["loop://iPhone", "openaps://rig"]}),
    "gold.daily_glucose": (gold, {"subject_id": ["s1", "s1"], "day": [D0, D1]}),
    "gold.daily_treatments": (gold, {"subject_id": ["s1", "s2"], "day": [D0, D0]}),
    "gold.glucose_summary": (gold, {"subject_id": ["s1", "s1"], "period_start": [D0, D0],
                                    "period_end": [D1, D0]}),
    "gold.agp": (gold, {"subject_id": ["s1", "s1"], "period_start": [D0, D0], "period_end": [D1, D1],
                        "minute_of_day": [5, 10]}),
    "gold.glucose_episodes": (gold, {"subject_id": ["s1", "s1"], "period_start": [D0, D0],
                                     "period_end": [D1, D1], "kind": ["hypo", "hypo"],
                                     "level": ["l1", "l2"], "start_local_ts": [T0, T0]}),
}


def key_check(table: str, rule: str):
    module, _ = KEYS[table]
    return getattr(module, "check_" + table.replace(".", "_") + "_" + rule)


def key_frame(table: str) -> pl.DataFrame:
    return pl.DataFrame(KEYS[table][1])


@pytest.mark.parametrize("table", KEYS)
def test_key_unique_check_flags_every_copy_of_a_repeated_key(table: str):
    check_fn, frame = key_check(table, "key_unique"), key_frame(table)
    assert_passes(check_fn, frame)
    assert_flags_rows(check_fn, pl.concat([frame, frame.head(1)]), [0, 2])


def test_repeated_key_counts_missing_values_as_equal():
    # Two rows missing the same key column are one key twice (the not-null check reports them too).
    frame = pl.DataFrame({"subject_id": ["s1", "s1", "s1"], "reading_ts": [T0, T0, T0],
                          "device": [None, None, "d"]})
    assert frame.filter(repeated_key(["subject_id", "reading_ts", "device"]))["device"].to_list() == [None, None]


@pytest.mark.parametrize("table", KEYS)
def test_key_not_null_check_flags_a_row_missing_any_key_column(table: str):
    check_fn, frame = key_check(table, "key_not_null"), key_frame(table)
    assert_passes(check_fn, frame)
    for column in frame.columns:
        blanked = frame.with_columns(pl.when(pl.int_range(pl.len()) == 1).then(None)
                                     .otherwise(pl.col(column)).alias(column))
        assert_flags_rows(check_fn, blanked, [1])


AFTER_2000 = [
    (bronze.check_bronze_entries_reading_ts_after_2000, "reading_ts"),
    (bronze.check_bronze_treatments_created_ts_after_2000, "created_ts"),
    (bronze.check_bronze_devicestatus_created_ts_after_2000, "created_ts"),
    (silver.check_silver_glucose_readings_reading_ts_after_2000, "reading_ts"),
    (silver.check_silver_sensor_errors_reading_ts_after_2000, "reading_ts"),
    (silver.check_silver_insulin_boluses_treatment_ts_after_2000, "treatment_ts"),
    (silver.check_silver_carb_intakes_treatment_ts_after_2000, "treatment_ts"),
    (silver.check_silver_device_status_status_ts_after_2000, "status_ts"),
    (gold.check_gold_glucose_episodes_start_ts_after_2000, "start_ts"),
]
NOT_IN_FUTURE = [
    (bronze.check_bronze_entries_reading_ts_not_in_future, "reading_ts"),
    (bronze.check_bronze_treatments_created_ts_not_in_future, "created_ts"),
    (bronze.check_bronze_devicestatus_created_ts_not_in_future, "created_ts"),
    (silver.check_silver_glucose_readings_reading_ts_not_in_future, "reading_ts"),
    (silver.check_silver_sensor_errors_reading_ts_not_in_future, "reading_ts"),
    (silver.check_silver_insulin_boluses_treatment_ts_not_in_future, "treatment_ts"),
    (silver.check_silver_carb_intakes_treatment_ts_not_in_future, "treatment_ts"),
    (silver.check_silver_device_status_status_ts_not_in_future, "status_ts"),
    (gold.check_gold_glucose_episodes_end_ts_not_in_future, "end_ts"),
]
DAY_AFTER_2000 = [gold.check_gold_daily_glucose_day_after_2000,
                  gold.check_gold_daily_treatments_day_after_2000]
DAY_NOT_IN_FUTURE = [gold.check_gold_daily_glucose_day_not_in_future,
                     gold.check_gold_daily_treatments_day_not_in_future]


def name_of(value) -> str:
    """Test ids: a check by its function name, a column by itself."""
    return getattr(value, "__name__", str(value))


@pytest.mark.parametrize(("check_fn", "column"), AFTER_2000, ids=name_of)
def test_after_2000_check_flags_times_before_2000_and_missing_times(check_fn, column: str):
    assert_passes(check_fn, pl.DataFrame({column: [datetime(2000, 1, 1), T0]}))
    frame = pl.DataFrame({column: [T0, datetime(1999, 12, 31, 23, 59), None]})
    assert_flags_rows(check_fn, frame, [1, 2])


@pytest.mark.parametrize(("check_fn", "column"), NOT_IN_FUTURE, ids=name_of)
def test_not_in_future_check_flags_times_past_now_beyond_clock_drift(check_fn, column: str):
    # The allowance for device clocks running ahead is one hour: 50 minutes ahead passes, 70 does not.
    now = datetime.now(UTC).replace(tzinfo=None)
    assert_passes(check_fn, pl.DataFrame({column: [T0, now + timedelta(minutes=50), None]}))
    frame = pl.DataFrame({column: [T0, now + timedelta(minutes=70), datetime(2999, 1, 1), None]})
    assert_flags_rows(check_fn, frame, [1, 2])


@pytest.mark.parametrize("check_fn", DAY_AFTER_2000, ids=name_of)
def test_day_after_2000_check_flags_days_before_2000_and_missing_days(check_fn):
    assert_passes(check_fn, pl.DataFrame({"day": [date(2000, 1, 1), D0]}))
    assert_flags_rows(check_fn, pl.DataFrame({"day": [D0, date(1999, 12, 31), None]}), [1, 2])


@pytest.mark.parametrize("check_fn", DAY_NOT_IN_FUTURE, ids=name_of)
def test_day_not_in_future_check_allows_a_local_tomorrow_but_flags_later_days(check_fn):
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert_passes(check_fn, pl.DataFrame({"day": [D0, tomorrow, None]}))
    assert_flags_rows(check_fn, pl.DataFrame({"day": [D0, tomorrow + timedelta(days=1)]}), [1])
