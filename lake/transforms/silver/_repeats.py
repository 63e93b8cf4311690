"""The one rule of silver's de-duplication in time: a copy comes soon after its original."""

from __future__ import annotations

import ibis.expr.types as ir


def without_repeats(t: ir.Table, epoch_s: str, group_by: list[str], within_s: int) -> ir.Table:
    """Rows of `t` not within `within_s` seconds after the previous row of their group (by the
    epoch-seconds column `epoch_s`, then doc_id). A copy of a copy goes too: each row is compared
    with the previous one, kept or not, so a chain of copies leaves its first."""
    previous = t[epoch_s].lag().over(group_by=[t[c] for c in group_by], order_by=[t[epoch_s], t.doc_id])
    return t.filter(previous.isnull() | (t[epoch_s] - previous > within_s))
