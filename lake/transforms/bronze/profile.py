"""bronze.profile: one row per profile document per subject.

Grain: (subject_id, doc_id). start_ts is UTC; timezone is the default profile's IANA name (or
the fixed-offset name the site uses); units are the profile's (mg/dl or mmol).
"""

from __future__ import annotations

import ibis.expr.types as ir

from lake.transforms.bronze._typed import typed_profile

COLUMNS = ["subject_id", "window_day", "doc_id", "start_ts", "default_profile", "timezone", "units",
           "batch_id", "fetched_at"]


def profile(raw_profile: ir.Table, ingest_batches: ir.Table) -> ir.Table:
    """Each committed profile document, typed (its default profile's timezone and units)."""
    t = typed_profile(raw_profile, ingest_batches)
    return t.filter(t.reject_reason.isnull()).mutate(doc_id=t.doc_key).select(COLUMNS)
