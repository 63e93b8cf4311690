"""silver.device_status: the device status essentials, one row per status report.

Grain: (subject_id, status_ts, device). Units: batteries in %, reservoir and IOB in U, COB in g;
status_ts UTC. Devicestatus is never de-duplicated by Nightscout: identical reports (same device,
same time) collapse here.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from lake.transforms.silver._local_time import with_local_time

COLUMNS = ["subject_id", "window_day", "status_ts", "local_ts", "local_day", "device",
           "uploader_battery_pct", "pump_reservoir_u", "pump_battery_pct", "iob_u", "cob_g", "doc_id"]


def device_status(devicestatus: ir.Table) -> ir.Table:
    t = devicestatus.mutate(device=devicestatus.device.fill_null("unknown"))
    rank = ibis.row_number().over(group_by=[t.subject_id, t.device, t.created_ts], order_by=t.doc_id)
    t = with_local_time(t.filter(rank == 0), "created_ts")
    return t.mutate(status_ts=t.created_ts).select(COLUMNS)
