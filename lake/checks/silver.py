"""Checks of the silver tables: cleaned, conformed, de-duplicated readings and events.

Hard checks guard what the silver transforms promise (their grain, glucose known and within
39..600 mg/dL, LOW/HIGH flags that agree with the value, times after 2000). Values silver passes through from
the devices unchanged (arrows, batteries, doses) get soft checks, as in bronze: a device's odd
value must not stop the build.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from lake.checks import check
from lake.checks.bronze import (
    BOLUS_MAX_U,
    CARBS_MAX_G,
    DIRECTIONS,
    DOC_KEY,
    TREND_MAX,
    TREND_MIN,
    in_future,
    known_after_2000,
    null_key,
    outside,
    repeated_key,
    unknown,
)
from lake.transforms.silver.glucose_readings import HIGH, LOW

# Silver keeps sgv >= LOW (39, below the sensor's range); > HIGH (400) is above it, sent as 401 by
# Dexcom-style uploaders. Some sensors (Libre) report true values up to 500, so the hard limit is the
# plausible 600 mg/dL and values above the 401 marker get a soft check of their own.
HIGH_MARKER, GLUCOSE_MAX = 401, 600
SENSOR_ERROR_CODES = [1, 2, 3, 5, 6, 9, 10, 12, 38]  # nightscout-api.md §6.4
# A subject this far behind the newest reading of the batch has probably stopped uploading;
# longer than the 48 h that ingestion re-reads, so late backfills do not trigger it.
STALE_AFTER = timedelta(days=3)


def stale_subjects(df: pl.DataFrame, time_column: str, newest: str) -> pl.DataFrame:
    """Subjects whose newest `time_column` is more than STALE_AFTER behind the batch's newest:
    one row per such subject with `newest` (theirs) and `batch_<newest>` (the batch's)."""
    per_subject = df.group_by("subject_id").agg(pl.col(time_column).max().alias(newest))
    return (per_subject
            .with_columns(pl.col(newest).max().alias(f"batch_{newest}"))
            .filter(pl.col(f"batch_{newest}") - pl.col(newest) > STALE_AFTER)
            .sort("subject_id"))


# silver.glucose_readings ---------------------------------------------------------------------

# The hard key includes the device: one device never has two readings at one instant (a re-upload
# is dropped). Two devices' readings at one instant are what the cross-device rule collapses; a
# pair left means that rule failed, reported by the soft one_reading_per_instant below.
READING_KEY = ["subject_id", "reading_ts", "device"]


@check("silver.glucose_readings", "hard")
def check_silver_glucose_readings_key_not_null(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(null_key(READING_KEY))


@check("silver.glucose_readings", "hard")
def check_silver_glucose_readings_key_unique(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(repeated_key(READING_KEY))


@check("silver.glucose_readings", "hard")
def check_silver_glucose_readings_doc_id_unique(df: pl.DataFrame) -> pl.DataFrame:
    # Each reading comes from one bronze document; a repeated one means a join fanned out.
    return df.filter(repeated_key(DOC_KEY))


@check("silver.glucose_readings", "soft")
def check_silver_glucose_readings_one_reading_per_instant(df: pl.DataFrame) -> pl.DataFrame:
    """Two devices' readings at the same instant: the duplicate the transform exists to collapse."""
    return df.filter(repeated_key(["subject_id", "reading_ts"]))


@check("silver.glucose_readings", "hard")
def check_silver_glucose_readings_glucose_in_range(df: pl.DataFrame) -> pl.DataFrame:
    """glucose_mg_dl known and within 39..600 mg/dL (below 39 are error codes, kept apart)."""
    return df.filter(~pl.col("glucose_mg_dl").is_between(LOW, GLUCOSE_MAX).fill_null(False))


@check("silver.glucose_readings", "soft")
def check_silver_glucose_readings_glucose_not_above_high_marker(df: pl.DataFrame) -> pl.DataFrame:
    """Values above 401, the usual HIGH marker: true readings from a wider-range sensor, or noise."""
    return df.filter(pl.col("glucose_mg_dl") > HIGH_MARKER)


@check("silver.glucose_readings", "hard")
def check_silver_glucose_readings_sensor_flags_match_glucose(df: pl.DataFrame) -> pl.DataFrame:
    # Metrics and reports trust the flags instead of re-deriving them from the value.
    g = pl.col("glucose_mg_dl")
    agrees = ((pl.col("below_sensor_range") == (g == LOW))
              & (pl.col("above_sensor_range") == (g > HIGH)))
    return df.filter(~agrees.fill_null(False))


@check("silver.glucose_readings", "hard")
def check_silver_glucose_readings_reading_ts_after_2000(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(~known_after_2000("reading_ts"))


@check("silver.glucose_readings", "soft")
def check_silver_glucose_readings_reading_ts_not_in_future(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(in_future("reading_ts"))


@check("silver.glucose_readings", "soft")
def check_silver_glucose_readings_direction_known(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(unknown("direction", DIRECTIONS))


@check("silver.glucose_readings", "soft")
def check_silver_glucose_readings_trend_known(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(outside("trend", TREND_MIN, TREND_MAX))


@check("silver.glucose_readings", "soft", across_subjects=("reading_ts",))
def check_silver_glucose_readings_subject_fresh(df: pl.DataFrame) -> pl.DataFrame:
    """Subjects whose newest reading is over 3 days older than the batch's newest reading.

    Only the rebuilt partitions are seen, so a subject with nothing rebuilt is not judged, and a
    backfill of one subject's old days alongside others' new days is flagged (soft, on purpose).
    """
    return stale_subjects(df, "reading_ts", "newest_reading_ts")


# silver.sensor_errors ------------------------------------------------------------------------

@check("silver.sensor_errors", "hard")
def check_silver_sensor_errors_key_not_null(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(null_key(DOC_KEY))


@check("silver.sensor_errors", "hard")
def check_silver_sensor_errors_key_unique(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(repeated_key(DOC_KEY))


@check("silver.sensor_errors", "hard")
def check_silver_sensor_errors_sgv_below_39(df: pl.DataFrame) -> pl.DataFrame:
    # 39 and above are glucose: such a row would be missing from silver.glucose_readings.
    return df.filter(~(pl.col("sgv_value") < LOW).fill_null(False))


@check("silver.sensor_errors", "soft")
def check_silver_sensor_errors_error_code_known(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(pl.col("error_code").is_not_null() & ~pl.col("error_code").is_in(SENSOR_ERROR_CODES))


@check("silver.sensor_errors", "soft")
def check_silver_sensor_errors_sgv_is_a_code(df: pl.DataFrame) -> pl.DataFrame:
    """An sgv below 39 with a fraction is no error code: most likely mmol/L written into sgv."""
    return df.filter(pl.col("error_code").is_null())


@check("silver.sensor_errors", "hard")
def check_silver_sensor_errors_reading_ts_after_2000(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(~known_after_2000("reading_ts"))


@check("silver.sensor_errors", "soft")
def check_silver_sensor_errors_reading_ts_not_in_future(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(in_future("reading_ts"))


# silver.insulin_boluses ----------------------------------------------------------------------

# Grain as documented: no two rows of one subject with the same amount within a minute of each other,
# so (subject, time, amount) is unique.
BOLUS_KEY = ["subject_id", "treatment_ts", "insulin_units"]


@check("silver.insulin_boluses", "hard")
def check_silver_insulin_boluses_key_not_null(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(null_key(BOLUS_KEY))


@check("silver.insulin_boluses", "hard")
def check_silver_insulin_boluses_key_unique(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(repeated_key(BOLUS_KEY))


@check("silver.insulin_boluses", "soft")
def check_silver_insulin_boluses_units_plausible(df: pl.DataFrame) -> pl.DataFrame:
    """0 < insulin_units <= 50 U: larger single boluses are almost always typing errors."""
    u = pl.col("insulin_units")
    return df.filter(~((u > 0) & (u <= BOLUS_MAX_U)).fill_null(False))


@check("silver.insulin_boluses", "hard")
def check_silver_insulin_boluses_treatment_ts_after_2000(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(~known_after_2000("treatment_ts"))


@check("silver.insulin_boluses", "soft")
def check_silver_insulin_boluses_treatment_ts_not_in_future(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(in_future("treatment_ts"))


# silver.carb_intakes -------------------------------------------------------------------------

CARB_KEY = ["subject_id", "treatment_ts", "carbs_g"]


@check("silver.carb_intakes", "hard")
def check_silver_carb_intakes_key_not_null(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(null_key(CARB_KEY))


@check("silver.carb_intakes", "hard")
def check_silver_carb_intakes_key_unique(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(repeated_key(CARB_KEY))


@check("silver.carb_intakes", "soft")
def check_silver_carb_intakes_grams_plausible(df: pl.DataFrame) -> pl.DataFrame:
    """0 < carbs_g <= 300 g for one entry."""
    g = pl.col("carbs_g")
    return df.filter(~((g > 0) & (g <= CARBS_MAX_G)).fill_null(False))


@check("silver.carb_intakes", "hard")
def check_silver_carb_intakes_treatment_ts_after_2000(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(~known_after_2000("treatment_ts"))


@check("silver.carb_intakes", "soft")
def check_silver_carb_intakes_treatment_ts_not_in_future(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(in_future("treatment_ts"))


# silver.device_status ------------------------------------------------------------------------

STATUS_KEY = ["subject_id", "status_ts", "device"]


@check("silver.device_status", "hard")
def check_silver_device_status_key_not_null(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(null_key(STATUS_KEY))


@check("silver.device_status", "hard")
def check_silver_device_status_key_unique(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(repeated_key(STATUS_KEY))


@check("silver.device_status", "soft")
def check_silver_device_status_battery_pct_in_range(df: pl.DataFrame) -> pl.DataFrame:
    # Reported by the devices, not computed by us: soft, as in bronze.
    return df.filter(outside("uploader_battery_pct", 0, 100) | outside("pump_battery_pct", 0, 100))


@check("silver.device_status", "hard")
def check_silver_device_status_status_ts_after_2000(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(~known_after_2000("status_ts"))


@check("silver.device_status", "soft")
def check_silver_device_status_status_ts_not_in_future(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(in_future("status_ts"))
