"""Local wall-clock time from a UTC timestamp and the record's own UTC offset (minutes)."""

from __future__ import annotations

import ibis.expr.types as ir


def with_local_time(t: ir.Table, ts_column: str) -> ir.Table:
    offset = t.utc_offset_min.fill_null(0)
    local = t[ts_column] + offset.as_interval("m")
    return t.mutate(local_ts=local, local_day=local.date(), utc_offset_missing=t.utc_offset_min.isnull())
