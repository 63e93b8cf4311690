"""bronze.entries: one row per Nightscout entry document (sgv, mbg, cal, ...) per subject.

Grain: (subject_id, doc_id). Units: sgv_mg_dl and mbg_mg_dl in mg/dL as sent (Nightscout stores
mg/dL always); reading_ts is UTC; utc_offset_min is the uploader's offset in minutes; ts_source
says which field gave the time (date, date_seconds, sysTime, dateString).
"""

from __future__ import annotations

import ibis.expr.types as ir

from lake.transforms.bronze._typed import typed_entries

COLUMNS = ["subject_id", "window_day", "doc_id", "entry_type", "sgv_mg_dl", "mbg_mg_dl", "direction",
           "trend", "noise", "device", "date_ms", "utc_offset_min", "reading_ts", "ts_source",
           "batch_id", "fetched_at"]


def entries(raw_entries: ir.Table, ingest_batches: ir.Table) -> ir.Table:
    """Typed, deduplicated raw entries of committed batches; untypable ones are left to the quarantine."""
    t = typed_entries(raw_entries, ingest_batches)
    return t.filter(t.reject_reason.isnull()).mutate(doc_id=t.doc_key).select(COLUMNS)
