"""silver.device_status: the device status essentials, one row per status report.

Grain: (subject_id, status_ts, device). Units: batteries in %, reservoir and IOB in U, COB in g;
status_ts UTC. Devicestatus is never de-duplicated by Nightscout: identical reports (same device,
same time) collapse here.
"""

from __future__ import annotations

import ibis.expr.types as ir

from lake.transforms.silver._local_time import with_local_time

COLUMNS = ["subject_id", "window_day", "status_ts", "local_ts", "local_day", "device",
           "uploader_battery_pct", "pump_reservoir_u", "pump_battery_pct", "iob_u", "cob_g", "doc_id"]


def device_status(devicestatus: ir.Table) -> ir.Table:
    """Device status essentials from bronze devicestatus, identical reports collapsed."""
    t = devicestatus.mutate(device=devicestatus.device.fill_null("unknown"))
    # Of identical reports the one with the lowest doc_id stays (doc_id is unique per subject).
    # An aggregate and a semi-join rather than a row_number window: DuckDB spills those to disk,
    # while the window over a subject-year of reports ran out of a 2 GB memory limit.
    first = t.group_by(["subject_id", "device", "created_ts"]).aggregate(doc_id=t.doc_id.min())
    t = with_local_time(t.semi_join(first, ["subject_id", "doc_id"]), "created_ts")
    return t.mutate(status_ts=t.created_ts).select(COLUMNS)
