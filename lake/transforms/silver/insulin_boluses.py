"""silver.insulin_boluses: one row per insulin bolus (any treatment with insulin > 0).

Grain: (subject_id, treatment_ts, insulin_units). insulin_units in U; treatment_ts UTC.
"""

from __future__ import annotations

import ibis.expr.types as ir

from lake.transforms.silver._treatments import events

COLUMNS = ["subject_id", "window_day", "treatment_ts", "local_ts", "local_day", "insulin_units",
           "event_type", "entered_by", "doc_id"]


def insulin_boluses(treatments: ir.Table) -> ir.Table:
    """Insulin boluses (treatments with insulin > 0) from bronze treatments, each event once."""
    t = events(treatments, "insulin_units")
    return t.mutate(treatment_ts=t.created_ts).select(COLUMNS)
