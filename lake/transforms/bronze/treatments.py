"""bronze.treatments: one row per Nightscout treatment document per subject.

Grain: (subject_id, doc_id). Units: insulin_units in U, carbs_g/protein_g/fat_g in g,
duration_min in minutes, absolute_u_per_h in U/h, glucose in `glucose_units`; created_ts is UTC.
The v1 API's `carbs: null, insulin: null` on every treatment without them become nulls here.
"""

from __future__ import annotations

import ibis.expr.types as ir

from lake.transforms.bronze._typed import typed_treatments

COLUMNS = ["subject_id", "window_day", "doc_id", "event_type", "created_ts", "utc_offset_min",
           "insulin_units", "carbs_g", "protein_g", "fat_g", "duration_min", "absolute_u_per_h",
           "percent", "glucose", "glucose_units", "entered_by", "notes", "batch_id", "fetched_at"]


def treatments(raw_treatments: ir.Table, ingest_batches: ir.Table) -> ir.Table:
    """Typed, deduplicated raw treatments of committed batches; untypable ones are left to the quarantine."""
    t = typed_treatments(raw_treatments, ingest_batches)
    return t.filter(t.reject_reason.isnull()).mutate(doc_id=t.doc_key).select(COLUMNS)
