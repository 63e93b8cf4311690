"""silver.sensor_errors: CGM error codes (sgv below 39), kept apart from glucose.

Grain: (subject_id, doc_id). error_code is the sgv value: 1 sensor not active, 2 minimal deviation,
3 no antenna, 5 not calibrated, 6 counts deviation, 9 absolute deviation, 10 power deviation,
12 bad RF, 38 (xDrip). reading_ts is UTC.
"""

from __future__ import annotations

import ibis.expr.types as ir

from lake.transforms.silver._local_time import with_local_time
from lake.transforms.silver.glucose_readings import LOW, sensor_glucose

COLUMNS = ["subject_id", "window_day", "reading_ts", "local_ts", "local_day", "error_code", "noise",
           "device", "doc_id"]


def sensor_errors(entries: ir.Table) -> ir.Table:
    """CGM error codes (sgv below 39) from bronze entries, one row per document."""
    t = sensor_glucose(entries)
    t = with_local_time(t.filter(t.sgv_mg_dl < LOW), "reading_ts")
    return t.mutate(error_code=t.sgv_mg_dl.cast("int32")).select(COLUMNS)
