"""Shared rule for insulin and carb events: one row per real event.

The same treatment uploaded by two apps (AAPS and xDrip, Loop and a bridge) arrives as two
documents; two documents with the same amount within the same minute are one event.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from lake.transforms.silver._local_time import with_local_time


def events(treatments: ir.Table, amount: str) -> ir.Table:
    t = treatments.filter(treatments[amount] > 0)
    t = t.mutate(_minute=t.created_ts.truncate("m"))
    rank = ibis.row_number().over(group_by=[t.subject_id, t._minute, t[amount]], order_by=[t.created_ts, t.doc_id])
    t = t.filter(rank == 0).drop("_minute")
    return with_local_time(t, "created_ts")
