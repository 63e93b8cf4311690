"""Checks of the bronze tables: one typed row per source document.

Bronze keeps what the sites sent, so checks on values the source chose (entry types, arrows,
glucose, doses, UTC offsets, future times) are soft: an odd value is worth a warning, not a failed
load. Hard checks guard what the bronze transforms promise: one row per (subject_id, doc_id) with
a non-null key, a known timestamp source and a time on or after 2000-01-01.

The Nightscout vocabularies and the timestamp rules are defined here once and reused by the
silver and gold checks.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from lake.checks import check

DOC_KEY = ["subject_id", "doc_id"]
EARLIEST = datetime(2000, 1, 1)
EARLIEST_DAY = date(2000, 1, 1)
# Phone clocks drift and uploaders stamp readings with them: a few minutes ahead is not "future".
CLOCK_SLACK = timedelta(hours=1)

# nightscout-api.md §5.1: lib/plugins/direction.js, plus TripleUp/TripleDown.
DIRECTIONS = ["TripleUp", "DoubleUp", "SingleUp", "FortyFiveUp", "Flat", "FortyFiveDown", "SingleDown",
              "DoubleDown", "TripleDown", "NOT COMPUTABLE", "RATE OUT OF RANGE", "NONE"]
TREND_MIN, TREND_MAX = 0, 9  # NONE 0, DoubleUp 1 ... DoubleDown 7, NOT COMPUTABLE 8, RATE OUT OF RANGE 9
NOISE_MIN, NOISE_MAX = 0, 5  # Nightscout uses 0-4; xDrip goes up to 5
ENTRY_TYPES = ["sgv", "mbg", "cal"]  # the types Nightscout interprets; others are free-form
TS_SOURCES = ["date", "date_seconds", "sysTime", "dateString"]
RESOURCES = ["entries", "treatments", "devicestatus", "profile"]
# UTC-12:00 to UTC+14:00, the span of real time zones.
UTC_OFFSET_MIN, UTC_OFFSET_MAX = -720, 840
BRONZE_GLUCOSE_MAX = 1000  # mg/dL; Nightscout does not validate sgv/mbg, bronze keeps them as sent
BOLUS_MAX_U = 50
CARBS_MAX_G = 300


def known_after_2000(column: str) -> pl.Expr:
    """True where the time is known and on or after 2000-01-01; null is false (a failure)."""
    return (pl.col(column) >= EARLIEST).fill_null(False)


def in_future(column: str) -> pl.Expr:
    """True where a naive-UTC time is later than now (plus clock slack); null is not future."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return (pl.col(column) > now + CLOCK_SLACK).fill_null(False)


def day_in_future(column: str) -> pl.Expr:
    """True where a local calendar day is after tomorrow (UTC): local days run up to 14 h ahead."""
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    return (pl.col(column) > tomorrow).fill_null(False)


def null_key(key: list[str]) -> pl.Expr:
    return pl.any_horizontal(pl.col(key).is_null())


def repeated_key(key: list[str]) -> pl.Expr:
    """True on every row whose key occurs more than once (all copies, not only the later ones).
    Missing key values count as equal, as in a GROUP BY."""
    # A count per key group: about half the time of pl.struct(key).is_duplicated() on a
    # subject-year's 1.5 million readings (0.09 s against 0.17 s).
    return pl.len().over(key) > 1


def unknown(column: str, accepted: list[str]) -> pl.Expr:
    """True where a value is present and not in `accepted` (missing values are not unknown)."""
    return pl.col(column).is_not_null() & ~pl.col(column).is_in(accepted)


def outside(column: str, low: float, high: float) -> pl.Expr:
    """True where a value is present and outside [low, high]."""
    return pl.col(column).is_not_null() & ~pl.col(column).is_between(low, high)


# bronze.entries ------------------------------------------------------------------------------

@check("bronze.entries", "hard")
def check_bronze_entries_key_not_null(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(null_key(DOC_KEY))


@check("bronze.entries", "hard")
def check_bronze_entries_key_unique(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(repeated_key(DOC_KEY))


@check("bronze.entries", "hard")
def check_bronze_entries_ts_source_known(df: pl.DataFrame) -> pl.DataFrame:
    # Set by the bronze transform itself, so anything else is a bug there.
    return df.filter(~pl.col("ts_source").is_in(TS_SOURCES).fill_null(False))


@check("bronze.entries", "hard")
def check_bronze_entries_reading_ts_after_2000(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(~known_after_2000("reading_ts"))


@check("bronze.entries", "soft")
def check_bronze_entries_reading_ts_not_in_future(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(in_future("reading_ts"))


@check("bronze.entries", "soft")
def check_bronze_entries_entry_type_known(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(unknown("entry_type", ENTRY_TYPES))


@check("bronze.entries", "soft")
def check_bronze_entries_direction_known(df: pl.DataFrame) -> pl.DataFrame:
    # The field is free text to Nightscout; an unknown arrow is a curiosity, not an error.
    return df.filter(unknown("direction", DIRECTIONS))


@check("bronze.entries", "soft")
def check_bronze_entries_trend_known(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(outside("trend", TREND_MIN, TREND_MAX))


@check("bronze.entries", "soft")
def check_bronze_entries_noise_known(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(outside("noise", NOISE_MIN, NOISE_MAX))


@check("bronze.entries", "soft")
def check_bronze_entries_glucose_plausible(df: pl.DataFrame) -> pl.DataFrame:
    """sgv and mbg within 0..1000 mg/dL (error codes < 39 are legitimate here)."""
    return df.filter(outside("sgv_mg_dl", 0, BRONZE_GLUCOSE_MAX)
                     | outside("mbg_mg_dl", 0, BRONZE_GLUCOSE_MAX))


@check("bronze.entries", "soft")
def check_bronze_entries_utc_offset_plausible(df: pl.DataFrame) -> pl.DataFrame:
    # A wrong offset moves readings to the wrong local day in every daily metric.
    return df.filter(outside("utc_offset_min", UTC_OFFSET_MIN, UTC_OFFSET_MAX))


# bronze.treatments ---------------------------------------------------------------------------

@check("bronze.treatments", "hard")
def check_bronze_treatments_key_not_null(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(null_key(DOC_KEY))


@check("bronze.treatments", "hard")
def check_bronze_treatments_key_unique(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(repeated_key(DOC_KEY))


@check("bronze.treatments", "hard")
def check_bronze_treatments_created_ts_after_2000(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(~known_after_2000("created_ts"))


@check("bronze.treatments", "soft")
def check_bronze_treatments_created_ts_not_in_future(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(in_future("created_ts"))


@check("bronze.treatments", "soft")
def check_bronze_treatments_insulin_plausible(df: pl.DataFrame) -> pl.DataFrame:
    """insulin_units within 0..50 U when present (0 is a treatment without insulin)."""
    return df.filter(outside("insulin_units", 0, BOLUS_MAX_U))


@check("bronze.treatments", "soft")
def check_bronze_treatments_carbs_plausible(df: pl.DataFrame) -> pl.DataFrame:
    """carbs_g within 0..300 g when present."""
    return df.filter(outside("carbs_g", 0, CARBS_MAX_G))


@check("bronze.treatments", "soft")
def check_bronze_treatments_utc_offset_plausible(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(outside("utc_offset_min", UTC_OFFSET_MIN, UTC_OFFSET_MAX))


# bronze.devicestatus -------------------------------------------------------------------------

@check("bronze.devicestatus", "hard")
def check_bronze_devicestatus_key_not_null(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(null_key(DOC_KEY))


@check("bronze.devicestatus", "hard")
def check_bronze_devicestatus_key_unique(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(repeated_key(DOC_KEY))


@check("bronze.devicestatus", "hard")
def check_bronze_devicestatus_created_ts_after_2000(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(~known_after_2000("created_ts"))


@check("bronze.devicestatus", "soft")
def check_bronze_devicestatus_created_ts_not_in_future(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(in_future("created_ts"))


@check("bronze.devicestatus", "soft")
def check_bronze_devicestatus_battery_pct_in_range(df: pl.DataFrame) -> pl.DataFrame:
    # Devices report these; some send a voltage where a percentage belongs.
    return df.filter(outside("uploader_battery_pct", 0, 100) | outside("pump_battery_pct", 0, 100))


@check("bronze.devicestatus", "soft")
def check_bronze_devicestatus_utc_offset_plausible(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(outside("utc_offset_min", UTC_OFFSET_MIN, UTC_OFFSET_MAX))


# bronze.quarantine ---------------------------------------------------------------------------

QUARANTINE_KEY = ["subject_id", "resource", "doc_id"]


@check("bronze.quarantine", "hard")
def check_bronze_quarantine_key_not_null(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(null_key(QUARANTINE_KEY))


@check("bronze.quarantine", "hard")
def check_bronze_quarantine_key_unique(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(repeated_key(QUARANTINE_KEY))


@check("bronze.quarantine", "hard")
def check_bronze_quarantine_resource_known(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(~pl.col("resource").is_in(RESOURCES).fill_null(False))


@check("bronze.quarantine", "hard")
def check_bronze_quarantine_reject_reason_present(df: pl.DataFrame) -> pl.DataFrame:
    # The reason is the only thing telling someone why a document is missing from bronze.
    return df.filter(pl.col("reject_reason").is_null() | (pl.col("reject_reason") == ""))
