"""lake.sources.simulated.treatments: one UTC day of treatments, shaped like Nightscout's (reference §5.2).

Meal Bolus (insulin and carbs), Snack Bolus, Correction Bolus (carbs null), Carb Correction
(insulin null), Note, Sensor Change, and on pump sites Temp Basal every 30 minutes and a Site
Change every 3 days. Like the v1 GET, every document carries `carbs` and `insulin`, null when
absent. A day's treatments come from the local days around it, kept when `created_at` falls in
the UTC day, so every treatment belongs to exactly one UTC day.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from lake.sources.simulated.common import (
    DAY_MS, DAY_TABLE, MINUTE_MS, dicts_day_table, iso_strings, object_ids, rng_for, utc_offsets_min,
)
from lake.sources.simulated.entries import sensor_change
from lake.sources.simulated.model import SITE_CHANGE_MS, day_events, glucose, site_change_phase_ms
from lake.sources.simulated.personas import Persona

_CAREPORTAL_EVENTS = {"Note", "Sensor Change", "Site Change"}


def treatments_for_day(subject: str, p: Persona, day: int) -> pa.Table:
    """All treatments whose created_at falls in one UTC day (a DAY_TABLE), newest first."""
    lo, hi = day * DAY_MS, (day + 1) * DAY_MS
    items = [t for local_day in (day - 1, day, day + 1) for t in day_events(subject, p, local_day).treatments
             if lo <= t[0] < hi]
    change = sensor_change(subject, p, day)
    if change:
        items.append((change[0], "Sensor Change", {"notes": "new sensor", "carbs": None, "insulin": None}))
    if p.loop:
        items += _temp_basals(subject, p, day)
        first = lo + (site_change_phase_ms(subject) - lo) % SITE_CHANGE_MS
        items += [(ms, "Site Change", {"carbs": None, "insulin": None})
                  for ms in range(first, hi, SITE_CHANGE_MS)]
    items.sort(key=lambda item: item[0], reverse=True)
    if not items:
        return DAY_TABLE.empty_table()
    ms = np.array([item[0] for item in items], dtype=np.int64)
    ids = object_ids(rng_for(subject, "treatment-ids", day), ms)
    strings, offsets = iso_strings(ms), utc_offsets_min(p.timezone, ms).tolist()
    app = "loop://iPhone" if p.loop else "xdrip"
    return dicts_day_table(ms.tolist(), [
        {"_id": ids[i], "eventType": event, "created_at": strings[i], "utcOffset": offsets[i],
         "enteredBy": "careportal" if event in _CAREPORTAL_EVENTS else app, **fields}
        for i, (_, event, fields) in enumerate(items)
    ])


def _temp_basals(subject: str, p: Persona, day: int) -> list[tuple[int, str, dict]]:
    """Loop's temp basals: every 30 minutes, more insulin when glucose runs high, less when low."""
    rng = rng_for(subject, "temp-basal", day)
    ms = day * DAY_MS + np.arange(48, dtype=np.int64) * 30 * MINUTE_MS + rng.integers(5_000, 60_000, 48)
    rate = np.clip(p.basal_u_h * (1 + (glucose(subject, p, ms) - 110) / 90), 0, 3 * p.basal_u_h)
    rates = (np.round(rate / 0.05) * 0.05).round(2).tolist()
    return [
        (at, "Temp Basal", {"duration": 30, "absolute": r, "rate": r, "temp": "absolute", "carbs": None,
                            "insulin": None})
        for at, r in zip(ms.tolist(), rates)
    ]
