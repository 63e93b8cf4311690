"""silver.carb_intakes: one row per carbohydrate entry (any treatment with carbs > 0).

Grain: (subject_id, treatment_ts, carbs_g). carbs_g in grams; treatment_ts UTC.
"""

from __future__ import annotations

import ibis.expr.types as ir

from lake.transforms.silver._treatments import events

COLUMNS = ["subject_id", "window_day", "treatment_ts", "local_ts", "local_day", "carbs_g",
           "event_type", "entered_by", "doc_id"]


def carb_intakes(treatments: ir.Table) -> ir.Table:
    """Carbohydrate intakes from bronze treatments, each real event once."""
    t = events(treatments, "carbs_g")
    return t.mutate(treatment_ts=t.created_ts).select(COLUMNS)
