"""bronze.quarantine: raw documents that could not be typed, kept with the reason.

Grain: (subject_id, resource, doc_id). `document` is the JSON text exactly as landed in raw.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from lake.transforms.bronze._typed import typed_devicestatus, typed_entries, typed_profile, typed_treatments

COLUMNS = ["subject_id", "resource", "window_day", "doc_id", "document", "reject_reason", "batch_id",
           "fetched_at"]


def quarantine(raw_tables: dict[str, ir.Table], ingest_batches: ir.Table) -> ir.Table:
    """`raw_tables` maps resource name (entries, treatments, devicestatus, profile) to its raw table."""
    typers = {"entries": typed_entries, "treatments": typed_treatments,
              "devicestatus": typed_devicestatus, "profile": typed_profile}
    parts = []
    for resource, raw in raw_tables.items():
        t = typers[resource](raw, ingest_batches, keep_rejected_text=True)
        parts.append(t.filter(t.reject_reason.notnull())
                      .mutate(resource=ibis.literal(resource), doc_id=t.doc_key).select(COLUMNS))
    return ibis.union(*parts)
