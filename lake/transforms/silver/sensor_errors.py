"""silver.sensor_errors: CGM error codes (sgv below 39), kept apart from glucose.

Grain: (subject_id, doc_id). error_code is the sgv value: 1 sensor not active, 2 minimal deviation,
3 no antenna, 5 not calibrated, 6 counts deviation, 9 absolute deviation, 10 power deviation,
12 bad RF, 38 (xDrip). sgv_value is the sgv as sent. No error code has a fraction: a value below
39 with one (5.6) is most likely mmol/L written into sgv (nightscout-api.md §5.5), so its
error_code is null rather than a rounded code (5.6 is not error 6, nor 38.6 LOW). reading_ts is UTC.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from lake.transforms.silver._local_time import with_local_time
from lake.transforms.silver.glucose_readings import LOW, sensor_glucose

COLUMNS = ["subject_id", "window_day", "reading_ts", "local_ts", "local_day", "error_code", "sgv_value",
           "noise", "device", "doc_id"]


def sensor_errors(entries: ir.Table) -> ir.Table:
    """CGM error codes (sgv below 39) from bronze entries, one row per document."""
    t = sensor_glucose(entries)
    t = with_local_time(t.filter(t.sgv_mg_dl < LOW), "reading_ts")
    whole = t.sgv_mg_dl == t.sgv_mg_dl.floor()
    code = ibis.ifelse(whole, t.sgv_mg_dl.cast("int32"), ibis.null("int32"))
    return t.mutate(error_code=code, sgv_value=t.sgv_mg_dl).select(COLUMNS)
