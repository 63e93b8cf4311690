"""silver: genuine CGM readings (errors apart, LOW/HIGH flagged, duplicates collapsed), local time."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import ibis
import pyarrow as pa

from lake.transforms.silver.carb_intakes import carb_intakes
from lake.transforms.silver.glucose_readings import glucose_readings
from lake.transforms.silver.insulin_boluses import insulin_boluses
from lake.transforms.silver.sensor_errors import sensor_errors
from tests.transforms.conftest import rows

T0 = datetime(2024, 3, 1, 10, 0)


def bronze_entries(*readings: tuple) -> ibis.Table:
    """(doc_id, seconds after T0, sgv, device[, type, utc offset]) -> bronze.entries rows."""
    cols = {k: [] for k in ("subject_id", "window_day", "doc_id", "entry_type", "sgv_mg_dl", "direction",
                            "trend", "noise", "device", "utc_offset_min", "reading_ts")}
    for doc_id, seconds, sgv, device, *rest in readings:
        cols["subject_id"].append("s1")
        cols["window_day"].append((T0 + timedelta(seconds=seconds)).date())  # the UTC day
        cols["doc_id"].append(doc_id)
        cols["entry_type"].append(rest[0] if rest else "sgv")
        cols["sgv_mg_dl"].append(None if sgv is None else float(sgv))
        cols["direction"].append("Flat")
        cols["trend"].append(4)
        cols["noise"].append(1)
        cols["device"].append(device)
        cols["utc_offset_min"].append(rest[1] if len(rest) > 1 else 60)
        cols["reading_ts"].append(T0 + timedelta(seconds=seconds))
    schema = pa.schema([("subject_id", pa.string()), ("window_day", pa.date32()), ("doc_id", pa.string()),
                        ("entry_type", pa.string()), ("sgv_mg_dl", pa.float64()), ("direction", pa.string()),
                        ("trend", pa.int32()), ("noise", pa.int32()), ("device", pa.string()), ("utc_offset_min", pa.int32()),
                        ("reading_ts", pa.timestamp("us"))])
    return ibis.memtable(pa.table(cols, schema=schema))


def test_error_codes_below_39_are_kept_apart_not_counted_as_glucose(duck):
    e = bronze_entries(("ok", 0, 120, "g6"), ("err", 300, 5, "g6"), ("err2", 600, 10, "g6"))
    assert rows(duck, glucose_readings(e), "doc_id") == [("ok",)]
    assert sorted(rows(duck, sensor_errors(e), "doc_id", "error_code")) == [("err", 5), ("err2", 10)]


def test_a_value_below_39_with_a_fraction_is_kept_apart_without_a_rounded_code(duck):
    # 5.6 is not error 6 (most likely mmol/L sent as sgv), and 38.6 is not LOW (39).
    e = bronze_entries(("mmol", 0, 5.6, "g6"), ("odd", 300, 38.6, "g6"), ("err", 600, 9, "g6"))
    assert rows(duck, glucose_readings(e), "doc_id") == []
    assert sorted(rows(duck, sensor_errors(e), "doc_id", "error_code", "sgv_value")) == [
        ("err", 9, 9.0), ("mmol", None, 5.6), ("odd", None, 38.6)]


def test_low_39_and_high_above_400_are_flagged_and_kept(duck):
    e = bronze_entries(("low", 0, 39, "g6"), ("high", 300, 401, "g6"), ("edge", 600, 400, "g6"))
    got = sorted(rows(duck, glucose_readings(e), "doc_id", "glucose_mg_dl", "below_sensor_range",
                      "above_sensor_range"))
    assert got == [("edge", 400.0, False, False), ("high", 401.0, False, True), ("low", 39.0, True, False)]


def test_the_same_reading_from_two_uploaders_collapses_to_the_primary_device(duck):
    e = bronze_entries(("a1", 0, 120, "xdrip"), ("a2", 300, 125, "xdrip"), ("a3", 600, 130, "xdrip"),
                       ("b1", 4, 120, "loop"), ("b2", 303, 125, "loop"))
    assert sorted(rows(duck, glucose_readings(e), "doc_id")) == [("a1",), ("a2",), ("a3",)]


def test_a_second_uploader_fills_a_gap_of_the_primary(duck):
    e = bronze_entries(("a1", 0, 120, "xdrip"), ("a2", 300, 125, "xdrip"), ("a4", 1200, 130, "xdrip"),
                       ("b3", 600, 128, "loop"))
    assert sorted(rows(duck, glucose_readings(e), "doc_id")) == [("a1",), ("a2",), ("a4",), ("b3",)]


def test_two_other_uploaders_filling_the_same_gap_give_one_reading_the_better_ranked_ones(duck):
    # xdrip is the day's primary (4 readings), loop second (2), share third (1).
    e = bronze_entries(("a1", 0, 120, "xdrip"), ("a2", 300, 125, "xdrip"), ("a5", 1500, 130, "xdrip"),
                       ("a6", 1800, 131, "xdrip"), ("b0", 3, 120, "loop"), ("b3", 905, 128, "loop"),
                       ("c3", 899, 128, "share"))
    assert sorted(rows(duck, glucose_readings(e), "doc_id")) == [("a1",), ("a2",), ("a5",), ("a6",), ("b3",)]


MIDNIGHT = 14 * 3600  # seconds after T0 (10:00 UTC) to the next UTC midnight


def test_near_midnight_two_days_primaries_give_one_reading_and_a_stream_stays_whole(duck):
    # x is the primary of March 1 (3 readings against 1), y of March 2 (3 against 1); their readings
    # 50 s apart across midnight are one reading: the two primaries rank by name, x first.
    e = bronze_entries(("x1", MIDNIGHT - 650, 120, "x"), ("x2", MIDNIGHT - 350, 121, "x"),
                       ("x3", MIDNIGHT - 20, 122, "x"), ("y3", MIDNIGHT + 30, 122, "y"),
                       ("y4", MIDNIGHT + 330, 123, "y"), ("y5", MIDNIGHT + 630, 124, "y"),
                       ("x4", MIDNIGHT + 1200, 125, "x"), ("y0", MIDNIGHT - 2000, 119, "y"))
    assert sorted(rows(duck, glucose_readings(e), "doc_id")) == [
        ("x1",), ("x2",), ("x3",), ("x4",), ("y0",), ("y4",), ("y5",)]
    # One device ranked differently on two days never gives way to itself.
    stream = bronze_entries(*[(f"l{i}", MIDNIGHT - 300 + 60 * i, 100 + i, "libre") for i in range(10)],
                            ("o1", MIDNIGHT - 3000, 100, "other"), ("o2", MIDNIGHT - 2700, 100, "other"),
                            ("o3", MIDNIGHT - 2400, 100, "other"), ("o4", MIDNIGHT - 2100, 100, "other"),
                            ("o5", MIDNIGHT - 1800, 100, "other"), ("o6", MIDNIGHT - 1500, 100, "other"))
    assert len([r for r in rows(duck, glucose_readings(stream), "doc_id") if r[0].startswith("l")]) == 10


def test_a_one_minute_stream_from_one_device_is_kept_whole(duck):
    e = bronze_entries(*[(f"l{i}", 60 * i, 100 + i, "libre") for i in range(10)])
    assert len(rows(duck, glucose_readings(e), "doc_id")) == 10


def test_a_reupload_by_the_same_device_within_30_seconds_is_dropped(duck):
    e = bronze_entries(("a", 0, 120, "g6"), ("a-again", 12, 120, "g6"), ("b", 300, 122, "g6"))
    assert sorted(rows(duck, glucose_readings(e), "doc_id")) == [("a",), ("b",)]


def test_only_sensor_glucose_counts_not_meter_or_calibration_entries(duck):
    e = bronze_entries(("sgv", 0, 120, "g6"), ("mbg", 100, None, "meter", "mbg"), ("cal", 200, None, "g6", "cal"))
    assert rows(duck, glucose_readings(e), "doc_id") == [("sgv",)]


def test_local_time_comes_from_each_readings_own_utc_offset(duck):
    e = bronze_entries(("cet", 0, 120, "g6", "sgv", 60), ("est", 300, 120, "g6", "sgv", -300),
                       ("none", 600, 120, "g6", "sgv", None))
    got = sorted(rows(duck, glucose_readings(e), "doc_id", "local_ts", "utc_offset_missing"))
    assert got == [("cet", datetime(2024, 3, 1, 11, 0), False),
                   ("est", datetime(2024, 3, 1, 5, 5), False),
                   ("none", datetime(2024, 3, 1, 10, 10), True)]


def bronze_treatments(*events: tuple) -> ibis.Table:
    """(doc_id, seconds after T0, insulin, carbs, event type)."""
    return ibis.memtable(pa.table({
        "subject_id": ["s1"] * len(events), "window_day": [date(2024, 3, 1)] * len(events),
        "doc_id": [e[0] for e in events], "created_ts": [T0 + timedelta(seconds=e[1]) for e in events],
        "insulin_units": pa.array([e[2] for e in events], pa.float64()),
        "carbs_g": pa.array([e[3] for e in events], pa.float64()),
        "event_type": [e[4] for e in events], "entered_by": ["loop"] * len(events),
        "utc_offset_min": pa.array([0] * len(events), pa.int32())}))


def test_boluses_and_carbs_keep_real_events_once(duck):
    t = bronze_treatments(("meal", 0, 4.5, 45.0, "Meal Bolus"), ("meal-copy", 20, 4.5, 45.0, "Meal Bolus"),
                          ("corr", 3600, 1.0, None, "Correction Bolus"), ("tb", 4000, None, None, "Temp Basal"))
    assert sorted(rows(duck, insulin_boluses(t), "doc_id", "insulin_units")) == [("corr", 1.0), ("meal", 4.5)]
    assert rows(duck, carb_intakes(t), "doc_id", "carbs_g") == [("meal", 45.0)]


def test_copies_either_side_of_a_minute_boundary_are_one_event(duck):
    # AAPS and xDrip copies 10 s apart, at 12:00:55 and 12:01:05: one event, not a doubled bolus.
    t = bronze_treatments(("aaps", 55, 4.5, 45.0, "Meal Bolus"), ("xdrip", 65, 4.5, 45.0, "Meal Bolus"))
    assert rows(duck, insulin_boluses(t), "doc_id", "insulin_units") == [("aaps", 4.5)]
    assert rows(duck, carb_intakes(t), "doc_id", "carbs_g") == [("aaps", 45.0)]


def test_a_chain_of_copies_is_one_event_and_the_same_dose_later_is_another(duck):
    # Copies 50 s apart (each within a minute of the previous one), then the same dose 5 min later.
    t = bronze_treatments(("a", 0, 2.0, None, "Correction Bolus"), ("b", 50, 2.0, None, "Correction Bolus"),
                          ("c", 100, 2.0, None, "Correction Bolus"), ("later", 400, 2.0, None, "Correction Bolus"),
                          ("other-dose", 30, 1.0, None, "Correction Bolus"))
    assert sorted(rows(duck, insulin_boluses(t), "doc_id")) == [("a",), ("later",), ("other-dose",)]
