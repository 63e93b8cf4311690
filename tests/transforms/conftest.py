"""Transforms are pure Ibis: their tests run them on in-memory tables with plain DuckDB."""

from __future__ import annotations

from datetime import UTC, date, datetime

import ibis
import orjson
import pyarrow as pa
import pytest

from lake.ingest import RAW_SCHEMA

DAY = date(2024, 3, 1)
FETCHED = datetime(2024, 3, 5, tzinfo=UTC)


@pytest.fixture(scope="session")
def duck():
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    return con


def raw_table(docs: list, *, subject: str = "s1", day: date = DAY, batch: str = "b1",
              fetched: datetime = FETCHED) -> ibis.Table:
    """A raw table as lake.ingest lands it, from documents (dicts, or anything JSON)."""
    rows = {
        "subject_id": [subject] * len(docs),
        "window_day": [day] * len(docs),
        "doc_id": [d.get("_id") if isinstance(d, dict) else None for d in docs],
        "document": [orjson.dumps(d).decode() for d in docs],
        "batch_id": [batch] * len(docs),
        "fetched_at": [fetched] * len(docs),
    }
    return ibis.memtable(pa.table(rows, schema=RAW_SCHEMA))


def batches(*batch_ids: str) -> ibis.Table:
    return ibis.memtable(pa.table({"batch_id": list(batch_ids)}))


def ms(ts: str) -> int:
    return int(datetime.fromisoformat(ts).replace(tzinfo=UTC).timestamp() * 1000)


def rows(duck, expr: ibis.Table, *columns: str) -> list[tuple]:
    return [tuple(r[c] for c in columns) for r in duck.to_pyarrow(expr.select(*columns)).to_pylist()]

