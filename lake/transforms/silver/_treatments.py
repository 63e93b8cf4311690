"""Shared rule for insulin and carb events: one row per real event.

The same treatment uploaded by two apps (AAPS and xDrip, Loop and a bridge) arrives as two
documents a few seconds apart (nightscout-api.md §6.2). A document with the same amount as the
subject's previous one (in time) and at most DUPLICATE_WITHIN_S seconds after it is a copy: each
event keeps its first document. A window, not a calendar minute: two copies 10 s apart either side
of a minute boundary are one event too.
"""

from __future__ import annotations

import ibis.expr.types as ir

from lake.transforms.silver._local_time import with_local_time
from lake.transforms.silver._repeats import without_repeats

DUPLICATE_WITHIN_S = 60


def events(treatments: ir.Table, amount: str) -> ir.Table:
    t = treatments.filter(treatments[amount] > 0)
    t = t.mutate(_epoch_s=t.created_ts.epoch_seconds())
    t = without_repeats(t, "_epoch_s", ["subject_id", amount], DUPLICATE_WITHIN_S).drop("_epoch_s")
    return with_local_time(t, "created_ts")
