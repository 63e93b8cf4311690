"""bronze.quarantine: raw documents that could not be typed, kept with the reason.

Grain: (subject_id, resource, doc_id). `document` is the JSON text exactly as landed in raw.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from lake.transforms.bronze._typed import typed_devicestatus, typed_entries, typed_profile, typed_treatments

COLUMNS = ["subject_id", "resource", "window_day", "doc_id", "document", "reject_reason", "batch_id",
           "fetched_at"]
TYPERS = {"entries": typed_entries, "treatments": typed_treatments, "devicestatus": typed_devicestatus,
          "profile": typed_profile}


def quarantine(raw_tables: dict[str, ir.Table], ingest_batches: ir.Table,
               bronze_tables: dict[str, ir.Table]) -> ir.Table:
    """`raw_tables` maps resource name (entries, treatments, devicestatus, profile) to its raw rows,
    `bronze_tables` to its bronze table's rows built from those same raw rows."""
    parts = []
    for resource, raw in raw_tables.items():
        t = TYPERS[resource](not_in_bronze(raw, bronze_tables[resource]), ingest_batches,
                             keep_rejected_text=True)
        parts.append(t.filter(t.reject_reason.notnull())
                     .mutate(resource=ibis.literal(resource), doc_id=t.doc_key).select(COLUMNS))
    return ibis.union(*parts)


def not_in_bronze(raw: ir.Table, bronze: ir.Table) -> ir.Table:
    """Raw rows of the documents bronze did not type: only these can be in the quarantine.

    Typing every document again to find the few that fail took as long as building bronze
    itself; comparing keys parses no JSON. Rows without an _id never match (bronze keys those
    by a hash of their text), so those rare rows are typed again and the typing sorts them out.
    The comparison is of keys alone, and only the few raw rows it leaves are read whole: an anti
    join of whole raw rows let DuckDB, misled by the row counts of often rebuilt bronze tables,
    put every document's text in its hash table (11 s instead of 2.5 s for a subject-year).
    """
    keys = ["subject_id", "doc_id"]
    untyped = raw.select(keys).anti_join(bronze.select(keys), keys)
    return raw.semi_join(untyped, keys).union(raw.filter(raw.doc_id.isnull()))
