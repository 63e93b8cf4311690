"""lake.sources.simulated.entries: one UTC day of entries, shaped like Nightscout's (reference §5.1, §6).

A reading per CGM interval with a few seconds of receiver clock jitter (always forward, so every
reading stays in its own UTC day and each day can be generated alone), sensor noise, LOW (39) and
HIGH (401) as sensors report them, bursts of error codes (5, 9, 10), signal-loss gaps, a warm-up
gap for each new sensor, near-duplicates from a second uploader (same reading a few seconds later,
another device and `_id`), and the occasional meter (`mbg`) or calibration (`cal`) record.
Arrays are built with numpy and written to JSON text column by column (this is the hot path).
"""

from __future__ import annotations

import zlib

import numpy as np
import pyarrow as pa

from lake.sources.simulated.common import (
    DAY_MS, DAY_TABLE, HOUR_MS, MINUTE_MS, day_table, dicts_day_table, ints_text, iso_strings, json_literal,
    json_text, object_ids, rng_for, strings, utc_offsets_min,
)
from lake.sources.simulated.model import glucose
from lake.sources.simulated.personas import Persona

# Indexed by Nightscout's numeric trend (lib/server/pebble.js).
DIRECTIONS = ("NONE", "DoubleUp", "SingleUp", "FortyFiveUp", "Flat", "FortyFiveDown", "SingleDown",
              "DoubleDown", "NOT COMPUTABLE", "RATE OUT OF RANGE")
# Rate of change (mg/dL per minute) bounds between DoubleDown ... DoubleUp, as Dexcom draws arrows.
_TREND_BOUNDS = (-3, -2, -1, 1, 2, 3)
_DIRECTION_OF_TREND = pa.array(DIRECTIONS)
ERROR_CODES = np.array([5, 9, 10])  # ?NC not calibrated, ?AD absolute deviation, ??? power deviation


def sensor_change(subject: str, p: Persona, day: int) -> tuple[int, int] | None:
    """(start, end) ms of the warm-up gap when a new sensor starts on this UTC day, else None."""
    if (day + zlib.crc32(subject.encode())) % p.sensor_days:
        return None
    start = day * DAY_MS + int(rng_for(subject, "sensor", day).uniform(7, 20) * HOUR_MS)
    return start, start + p.warmup_min * MINUTE_MS


def entries_for_day(subject: str, p: Persona, day: int) -> pa.Table:
    """All entries of one UTC day (a DAY_TABLE cut on `date`), newest first."""
    rng = rng_for(subject, "entries", day)
    step = p.cadence_min * MINUTE_MS
    n = DAY_MS // step
    ms = day * DAY_MS + np.arange(n, dtype=np.int64) * step + rng.integers(0, 15_000, n)
    # The true glucose at each reading and one interval before the first, for the rate of change.
    at = np.concatenate([ms[:1] - step, ms])
    curve = glucose(subject, p, at)
    true = curve[1:]
    sgv = np.rint(true + rng.normal(0, p.sensor_noise, n)).astype(np.int64)
    sgv = np.where(sgv < 40, 39, np.where(sgv > 400, 401, sgv))  # LOW / HIGH, as the sensor reports
    trend = 7 - np.digitize(np.diff(curve) / (np.diff(at) / MINUTE_MS), _TREND_BOUNDS)
    noise = np.where(rng.random(n) < 0.06, 2, 1)
    u = rng.random(13)  # every per-day decision, drawn up front
    keep = np.ones(n, dtype=bool)
    change = sensor_change(subject, p, day)
    if change:
        keep &= (ms < change[0]) | (ms >= change[1])
    if u[0] < p.gap_p:  # signal loss: minutes to hours
        minutes = float(np.clip(np.exp(np.log(25) + 1.1 * rng.standard_normal()), 10, 360))
        start = int(u[1] * n)
        keep[start : start + int(minutes) // p.cadence_min] = False
    error = np.zeros(n, dtype=bool)
    if u[2] < p.error_p:
        start = int(u[3] * n)
        error[start : start + 1 + int(u[4] * 3)] = True
        sgv = np.where(error, ERROR_CODES[int(u[5] * 3)], sgv)
        trend, noise = np.where(error, 8, trend), np.where(error, 4, noise)
    tables = [_sgv_documents(rng, p, p.device, ms, sgv, trend, noise, keep)]
    if p.duplicate_device and u[6] < p.duplicate_p:  # the second uploader runs for 1-4 hours
        duplicate = np.zeros(n, dtype=bool)
        start = int(u[7] * n)
        duplicate[start : start + int((1 + 3 * u[8]) * 60) // p.cadence_min] = True
        dup_ms = ms + rng.integers(2_000, 9_000, n)
        tables.append(_sgv_documents(rng, p, p.duplicate_device, dup_ms, sgv, trend, noise,
                                     keep & duplicate & ~error))
    if u[9] < p.mbg_p or u[10] < p.cal_p:
        tables.append(_meter_documents(rng, p, day, u[9] < p.mbg_p, u[10] < p.cal_p, u[11], u[12], true))
    return pa.concat_tables(tables).sort_by([("moment_ms", "descending")])


def _sgv_documents(rng: np.random.Generator, p: Persona, device: str, ms: np.ndarray, sgv: np.ndarray,
                   trend: np.ndarray, noise: np.ndarray, keep: np.ndarray) -> pa.Table:
    """The sgv documents of the kept readings."""
    if not keep.any():
        return DAY_TABLE.empty_table()
    ms, sgv, trend = ms[keep], sgv[keep], trend[keep]
    times, ids = strings(iso_strings(ms)), strings(object_ids(rng, ms))
    document = json_text(
        '{"_id":"', ids, '","type":"sgv","sgv":', ints_text(sgv), ',"direction":"', _DIRECTION_OF_TREND.take(trend),
        '","trend":', ints_text(trend), ',"noise":', ints_text(noise[keep]), ',"date":', ints_text(ms),
        ',"dateString":"', times, '","sysTime":"', times, '","utcOffset":', ints_text(utc_offsets_min(p.timezone, ms)),
        ',"device":', json_literal(device), "}")
    return day_table(ms, ids, document)


def _meter_documents(rng: np.random.Generator, p: Persona, day: int, mbg: bool, cal: bool, u: float, v: float,
                     true: np.ndarray) -> pa.Table:
    """A finger-stick (mbg) and/or an xDrip calibration (cal) record, both at one moment."""
    at = np.array([day * DAY_MS + int(u * (DAY_MS - MINUTE_MS)) + 30_000], dtype=np.int64)
    (string,), (offset,), (first_id, second_id) = (
        iso_strings(at), utc_offsets_min(p.timezone, at).tolist(), object_ids(rng, np.repeat(at, 2)))
    head = {"date": int(at[0]), "dateString": string, "sysTime": string, "utcOffset": offset}
    docs = []
    if mbg:  # the meter agrees with the truth within a few mg/dL
        value = int(round(float(true[int(u * len(true))]) + 8 * (v - 0.5)))
        docs.append({"_id": first_id, "type": "mbg", "mbg": value, **head, "device": "meter"})
    if cal:
        docs.append({"_id": second_id, "type": "cal", "slope": round(850 + 100 * float(v), 1),
                     "intercept": round(20000 + 3000 * float(v), 1), "scale": 1, **head, "device": p.device})
    return dicts_day_table([doc["date"] for doc in docs], docs)
