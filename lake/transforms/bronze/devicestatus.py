"""bronze.devicestatus: one row per devicestatus document per subject (the essentials only).

Grain: (subject_id, doc_id). Units: uploader/pump battery in %, pump_reservoir_u and iob_u in U,
cob_g in g; created_ts is UTC. The full document stays in raw.devicestatus.
"""

from __future__ import annotations

import ibis.expr.types as ir

from lake.transforms.bronze._typed import typed_devicestatus

COLUMNS = ["subject_id", "window_day", "doc_id", "created_ts", "device", "utc_offset_min",
           "uploader_battery_pct", "pump_reservoir_u", "pump_battery_pct", "iob_u", "cob_g",
           "batch_id", "fetched_at"]


def devicestatus(raw_devicestatus: ir.Table, ingest_batches: ir.Table) -> ir.Table:
    """The essentials of each committed devicestatus document; untypable ones are left to the quarantine."""
    t = typed_devicestatus(raw_devicestatus, ingest_batches)
    return t.filter(t.reject_reason.isnull()).mutate(doc_id=t.doc_key).select(COLUMNS)
