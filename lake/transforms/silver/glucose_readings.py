"""silver.glucose_readings: one row per genuine CGM reading.

Grain: (subject_id, reading_ts) after de-duplication. Units: glucose_mg_dl in mg/dL; reading_ts
UTC; local_ts/local_day the uploader's wall clock. Rules (DESIGN, nightscout-api.md §6):
* only sensor glucose (type sgv, or untyped with an sgv); sgv < 39 are CGM error codes, not glucose:
  they are kept apart in silver.sensor_errors;
* 39 means below the sensor's range (LOW) and > 400 above it (HIGH): kept with their value and
  flagged by below_sensor_range / above_sensor_range (iglu counts them as those numbers);
* the same reading uploaded twice collapses to one: a re-upload by the same device within 30 s of
  its previous reading is dropped; across devices, each UTC day's devices are ranked by their
  number of readings (the primary first, ties by name), the primary is kept whole, and a reading
  of any other device is kept only where no better-ranked device has a reading within 150 s (half
  a 5-minute cadence), so other uploaders fill gaps but never double. Near a UTC midnight a
  reading meets the other day's readings too; two days' primaries rank by name there;
* a 1-minute stream from one device is kept whole (60 s apart is never a re-upload).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from lake.transforms.silver._local_time import with_local_time
from lake.transforms.silver._repeats import without_repeats

LOW, HIGH = 39, 400
REUPLOAD_S, CROSS_DEVICE_S = 30, 150
DAY_S = 86_400
DEVICES_MAX = 10_000  # more uploaders than this for one subject would break the priority order
COLUMNS = ["subject_id", "window_day", "reading_ts", "local_ts", "local_day", "glucose_mg_dl",
           "below_sensor_range", "above_sensor_range", "direction", "trend", "device", "doc_id",
           "utc_offset_min", "utc_offset_missing"]


def sensor_glucose(entries: ir.Table) -> ir.Table:
    """Sensor-glucose entries (errors included), with a device name for every row."""
    is_sgv = (entries.entry_type == "sgv") | (entries.entry_type.isnull() & entries.sgv_mg_dl.notnull())
    t = entries.filter(is_sgv & entries.sgv_mg_dl.notnull())
    return t.mutate(device=t.device.fill_null("unknown"), epoch_s=t.reading_ts.epoch_seconds())


def glucose_readings(entries: ir.Table) -> ir.Table:
    """Genuine CGM readings from bronze entries, by the rules of the module docstring."""
    t = sensor_glucose(entries)
    t = t.filter(t.sgv_mg_dl >= LOW)
    # A re-upload by the same device: within 30 s of that device's previous reading.
    t = without_repeats(t, "epoch_s", ["subject_id", "device"], REUPLOAD_S)
    # Each device's rank that UTC day as one number, lower is better: the rank (primary = 0) first,
    # then the device name, so readings of two days compare too. One inequality, not an OR of two,
    # keeps the anti-joins below hash joins (with the OR, DuckDB took minutes on a subject-year).
    counts = t.group_by(["subject_id", "window_day", "device"]).aggregate(n=ibis._.count())
    rank = ibis.row_number().over(group_by=[counts.subject_id, counts.window_day],
                                  order_by=[ibis.desc(counts.n), counts.device])
    by_name = ibis.dense_rank().over(group_by=counts.subject_id, order_by=counts.device)
    priorities = counts.mutate(_priority=rank * DEVICES_MAX + by_name).drop("n")
    t = t.join(priorities, ["subject_id", "window_day", "device"])
    # Time buckets as wide as the whole +-150 s window: a reading within 150 s of another is in the
    # same bucket or a neighbouring one. The equality on the bucket lets DuckDB hash-join; on the
    # subject alone the range test ran against a subject's every reading (over a minute for a
    # subject-year).
    t = t.mutate(_bucket=t.epoch_s // (2 * CROSS_DEVICE_S))
    # Only a primary's readings within 150 s of a UTC midnight can give way (to the next or the
    # previous day's primary): every other primary reading is kept without a look.
    of_day = t.epoch_s % DAY_S
    near_midnight = (of_day < CROSS_DEVICE_S) | (of_day > DAY_S - CROSS_DEVICE_S)
    is_primary = t._priority < DEVICES_MAX
    kept, contested = t.filter(is_primary & ~near_midnight), t.filter(~is_primary | near_midnight)
    for shift in (-1, 0, 1):
        better = t.view()
        contested = contested.anti_join(better, [contested.subject_id == better.subject_id,
                                                 contested._bucket + shift == better._bucket,
                                                 contested.device != better.device,
                                                 contested.epoch_s >= better.epoch_s - CROSS_DEVICE_S,
                                                 contested.epoch_s <= better.epoch_s + CROSS_DEVICE_S,
                                                 better._priority < contested._priority])
    t = ibis.union(kept, contested).drop("_bucket", "_priority")
    t = with_local_time(t, "reading_ts")
    return t.mutate(
        glucose_mg_dl=t.sgv_mg_dl,
        below_sensor_range=t.sgv_mg_dl == LOW,
        above_sensor_range=t.sgv_mg_dl > HIGH,
    ).select(COLUMNS)
