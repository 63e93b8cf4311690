"""Shared expression helpers (the project's "macros"): JSON field access and timestamp rules.

Raw documents are JSON text; these read one field with DuckDB's JSON functions (declared as Ibis
builtin UDFs, so the transforms stay pure Ibis expressions).
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

# Epoch bounds used to tell milliseconds from seconds (the rule Nightscout's API v3 applies):
# values from 2000-01-01 to 2100-01-01 in ms are ms; the same range in seconds is seconds.
MS_2000, MS_2100 = 946_684_800_000, 4_102_444_800_000
S_2000, S_2100 = 946_684_800, 4_102_444_800


@ibis.udf.scalar.builtin
def json_extract_string(document: str, path: str) -> str:
    """DuckDB `document ->> path`: text of a string, JSON text of anything else, null if absent."""


@ibis.udf.scalar.builtin(name="timezone")
def _at_zone(zone: str, ts: dt.Timestamp(timezone="UTC")) -> dt.Timestamp():
    """DuckDB timezone(zone, timestamptz): the wall-clock time in `zone`."""


@ibis.udf.scalar.builtin(name="json_extract_string")
def _json_extract_strings(document: str, paths: dt.Array(dt.string)) -> dt.Array(dt.string):
    """DuckDB `json_extract_string(document, [paths])`: every path's text, parsing the JSON once."""


FIELDS_COLUMN = "_fields"


class Fields:
    """Fields of a table's JSON `document` column, extracted in one parse of each document.

    One `->>` per field would parse every document once per field: on 5 M devicestatus
    documents that was most of bronze's time. `with_fields` adds a list column holding every
    path's text; `text`/`number` index it. Drop FIELDS_COLUMN when done.
    """

    def __init__(self, column: ir.ArrayValue, paths: list[str]) -> None:
        self.column = column
        self.index = {path: i for i, path in enumerate(paths)}

    def text(self, path: str) -> ir.StringValue:
        """Field `path` ("sgv", "loop.iob.iob") as text; null when absent or JSON null."""
        value = self.column[self.index[path]]
        return ibis.ifelse(value == "null", ibis.null("string"), value)

    def number(self, path: str) -> ir.FloatingValue:
        """A numeric field, accepting numbers sent as strings ("120"); null when not a number."""
        return self.text(path).try_cast("float64")


def with_fields(t: ir.Table, paths: list[str]) -> tuple[ir.Table, Fields]:
    """`t` with the list column FIELDS_COLUMN of `paths` extracted from `t.document`."""
    t = t.mutate(**{FIELDS_COLUMN: _json_extract_strings(t.document, ibis.literal(["$." + p for p in paths]))})
    return t, Fields(t[FIELDS_COLUMN], paths)


def is_object(document: ir.StringValue) -> ir.BooleanValue:
    # Raw documents are valid JSON (serialised by the ingestion, and any JSON function here fails
    # on invalid text), so an object is text starting with "{": no second parse of every document.
    # Trimming copies the whole text, so only the rare documents not starting with "{" right away
    # are trimmed (a CASE: DuckDB evaluates the ELSE only on those rows).
    return ibis.ifelse(document.startswith("{"), True, document.lstrip().startswith("{"))


def utc_from_text(value: ir.StringValue) -> ir.TimestampValue:
    """ISO-8601 text with or without offset ("...Z", "...-07:00") to naive UTC; null if unparseable."""
    return _at_zone("UTC", value.try_cast(dt.Timestamp(timezone="UTC")))


# "...-07:00", "...+0100": the offset an ISO time was written in ("Z" is UTC, not a local offset).
_OFFSET_SUFFIX = r"([+-])(\d{2}):?(\d{2})$"


def offset_from_text(value: ir.StringValue) -> ir.IntegerValue:
    """The UTC offset (minutes) an ISO time was written in ("2014-07-19T02:44:15.000-07:00": -420);
    null for "...Z", no offset or no time."""
    hours = value.re_extract(_OFFSET_SUFFIX, 2).nullif("").try_cast("int32")
    minutes = value.re_extract(_OFFSET_SUFFIX, 3).nullif("").try_cast("int32")
    sign = ibis.ifelse(value.re_extract(_OFFSET_SUFFIX, 1) == "-", -1, 1)
    return (sign * (hours * 60 + minutes)).cast("int32")


def epoch_scale(value: ir.FloatingValue) -> ir.StringValue:
    """'ms' or 's' for a plausible epoch value (2000..2100), else null (0, garbage)."""
    return ibis.cases(
        ((value >= MS_2000) & (value < MS_2100), "ms"),
        ((value >= S_2000) & (value < S_2100), "s"),
        else_=ibis.null("string"),
    )


def utc_from_epoch(value: ir.FloatingValue) -> ir.TimestampValue:
    """Epoch ms (or seconds, when seconds-scale) to naive UTC; fractional ms are rounded."""
    scale = epoch_scale(value)
    ms = ibis.cases((scale == "ms", value), (scale == "s", value * 1000), else_=ibis.null("float64"))
    return ms.round().cast("int64").as_timestamp("ms")


def committed(raw: ir.Table, batches: ir.Table) -> ir.Table:
    """Rows of a raw table that belong to a committed ingestion batch (see lake.ingest)."""
    return raw.semi_join(batches.select("batch_id").distinct(), "batch_id")


def latest_per_document(t: ir.Table) -> ir.Table:
    """One row per (subject_id, doc_id): the most recently fetched copy of each document. Copies
    fetched together (one batch) are told apart by their window day, then by `content_hash`, so
    the same copy wins every time; the column is dropped."""
    order = [ibis.desc(t.fetched_at), ibis.desc(t.batch_id), ibis.desc(t.window_day), ibis.desc(t.content_hash)]
    rank = ibis.row_number().over(group_by=[t.subject_id, t.doc_key], order_by=order)
    return t.mutate(_rank=rank).filter(ibis._["_rank"] == 0).drop("_rank", "content_hash")
