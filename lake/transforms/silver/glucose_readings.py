"""silver.glucose_readings: one row per genuine CGM reading.

Grain: (subject_id, reading_ts) after de-duplication. Units: glucose_mg_dl in mg/dL; reading_ts
UTC; local_ts/local_day the uploader's wall clock. Rules (DESIGN, nightscout-api.md §6):
* only sensor glucose (type sgv, or untyped with an sgv); sgv < 39 are CGM error codes, not glucose:
  they are kept apart in silver.sensor_errors;
* 39 means below the sensor's range (LOW) and > 400 above it (HIGH): kept with their value and
  flagged by below_sensor_range / above_sensor_range (iglu counts them as those numbers);
* the same reading uploaded twice collapses to one: a re-upload by the same device within 30 s of
  its previous reading is dropped; across devices, each UTC day's primary device (the one with the
  most readings) is kept whole, and another device's reading is kept only where the primary has no
  reading within 150 s (half a 5-minute cadence), so a second uploader fills gaps but never doubles.
  Not collapsed (rare; the soft check one_reading_per_instant reports exact doubles): two
  non-primary devices filling the same gap of the primary, and, within 150 s of a UTC midnight,
  two devices that are each the primary of their own UTC day;
* a 1-minute stream from one device is kept whole (60 s apart is never a re-upload).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from lake.transforms.silver._local_time import with_local_time

LOW, HIGH = 39, 400
REUPLOAD_S, CROSS_DEVICE_S = 30, 150
COLUMNS = ["subject_id", "window_day", "reading_ts", "local_ts", "local_day", "glucose_mg_dl",
           "below_sensor_range", "above_sensor_range", "direction", "trend", "device", "doc_id",
           "utc_offset_min", "utc_offset_missing"]


def sensor_glucose(entries: ir.Table) -> ir.Table:
    """Sensor-glucose entries (errors included), with a device name for every row."""
    is_sgv = (entries.entry_type == "sgv") | (entries.entry_type.isnull() & entries.sgv_mg_dl.notnull())
    t = entries.filter(is_sgv & entries.sgv_mg_dl.notnull())
    return t.mutate(device=t.device.fill_null("unknown"), epoch_s=t.reading_ts.epoch_seconds())


def glucose_readings(entries: ir.Table) -> ir.Table:
    t = sensor_glucose(entries)
    t = t.filter(t.sgv_mg_dl >= LOW)
    # A re-upload by the same device: within 30 s of that device's previous reading.
    previous = t.epoch_s.lag().over(group_by=[t.subject_id, t.device], order_by=[t.epoch_s, t.doc_id])
    t = t.filter(previous.isnull() | (t.epoch_s - previous > REUPLOAD_S))
    counts = t.group_by(["subject_id", "window_day", "device"]).aggregate(n=ibis._.count())
    rank = ibis.row_number().over(group_by=[counts.subject_id, counts.window_day],
                                  order_by=[ibis.desc(counts.n), counts.device])
    primary = counts.filter(rank == 0).select("subject_id", "window_day", primary_device=counts.device)
    t = t.join(primary, ["subject_id", "window_day"])
    # Time buckets as wide as the whole +-150 s window: a primary reading within 150 s of another
    # device's reading is in the same bucket or a neighbouring one. The equality on the bucket
    # lets DuckDB hash-join; on the subject alone the range test ran against a subject's every
    # reading (over a minute for a subject-year).
    t = t.mutate(_bucket=t.epoch_s // (2 * CROSS_DEVICE_S))
    main, kept_other = t.filter(t.device == t.primary_device), t.filter(t.device != t.primary_device)
    for shift in (-1, 0, 1):
        near = main.view()
        kept_other = kept_other.anti_join(near, [kept_other.subject_id == near.subject_id,
                                                 kept_other._bucket + shift == near._bucket,
                                                 kept_other.epoch_s >= near.epoch_s - CROSS_DEVICE_S,
                                                 kept_other.epoch_s <= near.epoch_s + CROSS_DEVICE_S])
    t = ibis.union(main, kept_other).drop("_bucket")
    t = with_local_time(t, "reading_ts")
    return t.mutate(
        glucose_mg_dl=t.sgv_mg_dl,
        below_sensor_range=t.sgv_mg_dl == LOW,
        above_sensor_range=t.sgv_mg_dl > HIGH,
    ).select(COLUMNS)
