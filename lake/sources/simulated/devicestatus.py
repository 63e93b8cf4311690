"""lake.sources.simulated.devicestatus: one UTC day of devicestatus, plus the profile document.

Every 5 minutes the phone uploads its status (reference §5.3): on Loop sites the uploader battery,
the pump (clock, reservoir emptying between site changes, battery, status) and Loop's IOB, COB
and a 2-hour prediction; on pen sites only the xDrip uploader's battery. The profile (§5.4) has a
timezone, the persona's units, schedules in those units, and one value stored as a string, as
some uploaders do.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from lake.sources.simulated.common import (
    DAY_MS, HOUR_MS, MINUTE_MS, day_table, decimals_text, int_lists_text, ints_text, iso_strings, json_literal,
    json_text, object_ids, rng_for, strings, utc_offsets_min,
)
from lake.sources.simulated.model import SITE_CHANGE_MS, glucose, on_board, site_change_phase_ms
from lake.sources.simulated.personas import Persona

MG_DL_PER_MMOL = 18.01559
_STEPS = np.arange(24)  # Loop predicts in 5-minute steps; 24 of them = 2 hours


def devicestatus_for_day(subject: str, p: Persona, day: int) -> pa.Table:
    """All devicestatus documents of one UTC day (a DAY_TABLE cut on `created_at`), newest first."""
    rng = rng_for(subject, "devicestatus", day)
    ms = day * DAY_MS + np.arange(288, dtype=np.int64) * 5 * MINUTE_MS + rng.integers(20_000, 50_000, 288)
    ids, times = strings(object_ids(rng, ms)), strings(iso_strings(ms))
    offsets = utc_offsets_min(p.timezone, ms)
    local_hour = ((ms + offsets * MINUTE_MS) % DAY_MS) / HOUR_MS
    battery = np.clip(100 - ((local_hour - 7) % 24) * 4.2, 12, 100).round().astype(int)
    head = ('{"_id":"', ids, '","device":', json_literal("loop://iPhone" if p.loop else p.device),
            ',"created_at":"', times, '","utcOffset":', ints_text(offsets),
            ',"uploader":{"battery":', ints_text(battery), "}")
    loop = _loop_parts(subject, p, ms, times) if p.loop else ()
    return day_table(ms, ids, json_text(*head, *loop, "}"))


def _loop_parts(subject: str, p: Persona, ms: np.ndarray, times: pa.Array) -> tuple[str | pa.Array, ...]:
    """The pump and loop sub-documents of each upload, as json_text pieces."""
    at = np.concatenate([ms[:1] - 5 * MINUTE_MS, ms])
    curve = glucose(subject, p, at)
    now, rate = curve[1:], np.diff(curve) / (np.diff(at) / MINUTE_MS)
    # Loop extrapolates the current rate with decaying momentum, within the sensor's range.
    predicted = np.clip(np.rint(now[:, None] + rate[:, None] * 40 * (1 - np.exp(-_STEPS / 8))), 39, 400)
    iob, cob = on_board(subject, p, ms)
    hours_since_site = ((ms - site_change_phase_ms(subject)) % SITE_CHANGE_MS) / HOUR_MS
    pump_battery = int(100 - (int(ms[0]) // DAY_MS % 12) * 7)  # a new AAA battery every 12 days
    clocks = strings(iso_strings(ms - 4_000))
    return (
        ',"pump":{"clock":"', clocks, '","reservoir":', decimals_text(180 - hours_since_site * (p.basal_u_h + 0.8), 1),
        f',"battery":{{"percent":{pump_battery}}},"status":{{"status":"normal","bolusing":false,'
        '"suspended":false,"timestamp":"', clocks, '"}},"loop":{"name":"Loop","version":"3.4.1","timestamp":"',
        times, '","iob":{"iob":', decimals_text(iob, 2), ',"timestamp":"', times,
        '"},"cob":{"cob":', ints_text(np.rint(cob)), ',"timestamp":"', times,
        '"},"predicted":{"startDate":"', times, '","values":[', int_lists_text(predicted.astype(np.int64)), "]}}",
    )


def profile_document(subject: str, p: Persona) -> dict:
    """The person's one profile document, in the persona's units."""
    def in_units(mg_dl: float) -> float:
        return round(mg_dl / MG_DL_PER_MMOL, 1) if p.units == "mmol" else round(mg_dl)

    basal = p.basal_u_h or 0.0
    store = {
        "dia": 5 if p.loop else "4",  # a string, as some uploaders store values
        "timezone": p.timezone, "units": p.units, "carbs_hr": 20, "delay": 20,
        "basal": [{"time": "00:00", "value": basal, "timeAsSeconds": 0},
                  {"time": "06:00", "value": f"{basal * 1.2:.2f}", "timeAsSeconds": 21600}],
        "carbratio": [{"time": "00:00", "value": p.icr, "timeAsSeconds": 0}],
        "sens": [{"time": "00:00", "value": in_units(p.isf), "timeAsSeconds": 0}],
        "target_low": [{"time": "00:00", "value": in_units(100), "timeAsSeconds": 0}],
        "target_high": [{"time": "00:00", "value": in_units(120), "timeAsSeconds": 0}],
    }
    start = "2023-01-01T00:00:00.000Z"
    (profile_id,) = object_ids(rng_for(subject, "profile", 0), np.array([1672531200000], dtype=np.int64))
    return {"_id": profile_id, "defaultProfile": "Default", "startDate": start, "created_at": start,
            "units": p.units, "store": {"Default": store}}
