"""Typing of raw documents, shared by each bronze table and by bronze.quarantine.

Each `typed_<resource>` returns every committed, deduplicated raw row with its typed columns and
a `reject_reason` (null when the document typed cleanly). Bronze tables keep reject_reason null;
the quarantine keeps the rest, with their JSON text (`keep_rejected_text`), so no document is ever
dropped silently.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

from lake.transforms._common import (
    FIELDS_COLUMN,
    committed,
    epoch_scale,
    is_object,
    json_extract_string,
    latest_per_document,
    offset_from_text,
    utc_from_epoch,
    utc_from_text,
    with_fields,
)

NOT_OBJECT = "not a JSON object"
# A text timestamp can parse to any year; CGM data before 2000 is a broken clock, not data.
EARLIEST = datetime(2000, 1, 1)
BEFORE_2000 = "timestamp before 2000"


def _offset(utc_offset: ir.FloatingValue, text_time: ir.StringValue) -> ir.IntegerValue:
    """`utcOffset` (minutes), else the offset the text time was written in: documents from before
    Nightscout 0.12 (2019) may have no utcOffset but a dateString/created_at such as
    "2014-07-19T02:44:15.000-07:00" (nightscout-api.md §5.1, §6.3). Read only where utcOffset is missing."""
    return ibis.ifelse(utc_offset.isnull(), offset_from_text(text_time), utc_offset.cast("int32"))


def _plausible(ts: ir.TimestampValue) -> ir.TimestampValue:
    """The time where it is on or after 2000, else null."""
    return ibis.ifelse(ts >= EARLIEST, ts, ibis.null("timestamp"))


def _documents(raw: ir.Table, batches: ir.Table) -> ir.Table:
    """Committed raw rows with their document key. Each typed_* types them row by row, then keeps
    the latest copy of each document: in that order the de-duplication window does not carry
    the JSON text (the widest column by far) unless the caller selects it (the quarantine)."""
    t = committed(raw, batches)
    # Documents without an _id still need a key: their content hash stands in for it. Two copies
    # fetched together (one batch) with different content keep the same one run after run: the
    # content's 64-bit hash decides between them (see latest_per_document).
    return t.mutate(doc_key=ibis.coalesce(t.doc_id, "sha256:" + t.document.hexdigest("sha256")),
                    content_hash=t.document.hash())


def _latest(keep_rejected_text: bool, t: ir.Table) -> ir.Table:
    """The latest copy of each typed document. The JSON text goes through the de-duplication
    only where asked, and then only for rejected documents (the quarantine's): carrying every
    document's text through it held all of raw in memory (gigabytes for a subject-year each)."""
    if keep_rejected_text:
        t = t.mutate(document=ibis.ifelse(t.reject_reason.notnull(), t.document, ibis.null("string")))
    else:
        t = t.drop("document")
    return latest_per_document(t)


def typed_entries(raw_entries: ir.Table, batches: ir.Table, keep_rejected_text: bool = False) -> ir.Table:
    """Entries with the timestamp trust order of the reference: a plausible `date` (ms, or
    seconds-scale), then `sysTime`, then `dateString`."""
    t, f = with_fields(_documents(raw_entries, batches), [
        "date", "sysTime", "dateString", "type", "sgv", "mbg", "direction", "trend", "noise", "device", "utcOffset"])
    doc = t.document
    date_value = f.number("date")
    t = t.mutate(date_ms=date_value, _scale=epoch_scale(date_value))
    # The text fallbacks are parsed only where they decide the time: each is a column of its own,
    # a CASE that DuckDB evaluates only on the rows it selects. Written inline in both reading_ts
    # and ts_source, DuckDB hoisted each parse out as a common subexpression and parsed sysTime
    # and dateString on every row, though nearly every document has a plausible `date`.
    # A text time before 2000 (a reset clock: "1970-01-01...") gives way to the next one in the
    # order, and is kept only when nothing later in it is plausible (then quarantined for it).
    t = t.mutate(_sys_any=ibis.ifelse(t._scale.isnull(), utc_from_text(f.text("sysTime")),
                                      ibis.null("timestamp")))
    t = t.mutate(_sys_ts=_plausible(t._sys_any))
    t = t.mutate(_string_any=ibis.ifelse(t._scale.isnull() & t._sys_ts.isnull(),
                                         utc_from_text(f.text("dateString")), ibis.null("timestamp")))
    t = t.mutate(_string_ts=_plausible(t._string_any))
    t = t.mutate(
        entry_type=f.text("type"),
        sgv_mg_dl=f.number("sgv"),
        mbg_mg_dl=f.number("mbg"),
        direction=f.text("direction"),
        trend=f.number("trend").cast("int32"),
        noise=f.number("noise").cast("int32"),
        device=f.text("device"),
        utc_offset_min=_offset(f.number("utcOffset"), f.text("dateString")),
        reading_ts=ibis.coalesce(utc_from_epoch(t.date_ms), t._sys_ts, t._string_ts,
                                 t._sys_any, t._string_any),
        ts_source=ibis.cases(
            (t._scale == "ms", "date"), (t._scale == "s", "date_seconds"),
            (t._sys_ts.notnull(), "sysTime"), (t._string_ts.notnull(), "dateString"),
            (t._sys_any.notnull(), "sysTime"), (t._string_any.notnull(), "dateString"),
            else_=ibis.null("string")),
    )
    t = t.drop("_scale", "_sys_any", "_sys_ts", "_string_any", "_string_ts", FIELDS_COLUMN)
    return _latest(keep_rejected_text, t.mutate(reject_reason=ibis.cases(
        (~is_object(doc), NOT_OBJECT),
        (t.reading_ts.isnull(), "no usable timestamp (date, sysTime, dateString)"),
        (t.reading_ts < EARLIEST, BEFORE_2000),
        else_=ibis.null("string"))))


def typed_treatments(raw_treatments: ir.Table, batches: ir.Table, keep_rejected_text: bool = False) -> ir.Table:
    """Treatments; `created_at` (ISO) is the time, else a numeric `timestamp`/`date` (xDrip)."""
    t, f = with_fields(_documents(raw_treatments, batches), [
        "created_at", "timestamp", "date", "eventType", "utcOffset", "insulin", "carbs", "protein", "fat",
        "duration", "durationInMilliseconds", "absolute", "percent", "glucose", "units", "enteredBy",
        "notes"])
    doc = t.document
    # The fallbacks are read only where created_at gives no plausible time (a CASE, see
    # typed_entries): inline, DuckDB worked out both epoch scales on every row. A created_at
    # before 2000 is kept only when no fallback has a time (then quarantined for it).
    t = t.mutate(_created_at_any=utc_from_text(f.text("created_at")))
    t = t.mutate(_created_at_ts=_plausible(t._created_at_any))
    # Epoch values are plausible or null already (utc_from_epoch); a text timestamp before 2000
    # waits behind `date`, as created_at does.
    text_timestamp = utc_from_text(f.text("timestamp"))
    fallback = ibis.coalesce(utc_from_epoch(f.number("timestamp")), _plausible(text_timestamp),
                             utc_from_epoch(f.number("date")), t._created_at_any, text_timestamp)
    t = t.mutate(
        event_type=f.text("eventType"),
        created_ts=ibis.ifelse(t._created_at_ts.isnull(), fallback, t._created_at_ts),
        utc_offset_min=_offset(f.number("utcOffset"), f.text("created_at")),
        insulin_units=f.number("insulin"),
        carbs_g=f.number("carbs"),
        protein_g=f.number("protein"),
        fat_g=f.number("fat"),
        # Nightscout derives duration from durationInMilliseconds when only that is sent.
        duration_min=ibis.coalesce(f.number("duration"), f.number("durationInMilliseconds") / 60_000),
        absolute_u_per_h=f.number("absolute"),
        percent=f.number("percent"),
        glucose=f.number("glucose"),
        glucose_units=f.text("units"),
        entered_by=f.text("enteredBy"),
        notes=f.text("notes"),
    )
    t = t.drop("_created_at_any", "_created_at_ts", FIELDS_COLUMN)
    return _latest(keep_rejected_text, t.mutate(reject_reason=ibis.cases(
        (~is_object(doc), NOT_OBJECT),
        (t.created_ts.isnull(), "no usable timestamp (created_at, timestamp, date)"),
        (t.created_ts < EARLIEST, BEFORE_2000),
        else_=ibis.null("string"))))


def typed_devicestatus(raw_devicestatus: ir.Table, batches: ir.Table, keep_rejected_text: bool = False) -> ir.Table:
    """Devicestatus essentials, whichever uploader (Loop, OpenAPS/AAPS, pump-only) wrote them."""
    t, f = with_fields(_documents(raw_devicestatus, batches), [
        "created_at", "device", "utcOffset", "uploader.battery", "uploaderBattery", "pump.reservoir",
        "pump.battery.percent", "loop.iob.iob", "openaps.iob.iob", "openaps.iob[0].iob", "pump.iob.iob",
        "loop.cob.cob", "openaps.suggested.COB", "openaps.enacted.COB"])
    doc = t.document
    t = t.mutate(
        created_ts=utc_from_text(f.text("created_at")),
        device=f.text("device"),
        utc_offset_min=f.number("utcOffset").cast("int32"),
        uploader_battery_pct=ibis.coalesce(f.number("uploader.battery"), f.number("uploaderBattery")),
        pump_reservoir_u=f.number("pump.reservoir"),
        pump_battery_pct=f.number("pump.battery.percent"),
        iob_u=ibis.coalesce(f.number("loop.iob.iob"), f.number("openaps.iob.iob"),
                            f.number("openaps.iob[0].iob"), f.number("pump.iob.iob")),
        cob_g=ibis.coalesce(f.number("loop.cob.cob"), f.number("openaps.suggested.COB"),
                            f.number("openaps.enacted.COB")),
    )
    t = t.drop(FIELDS_COLUMN)
    return _latest(keep_rejected_text, t.mutate(reject_reason=ibis.cases(
        (~is_object(doc), NOT_OBJECT),
        (t.created_ts.isnull(), "no usable timestamp (created_at)"),
        (t.created_ts < EARLIEST, BEFORE_2000),
        else_=ibis.null("string"))))


def typed_profile(raw_profile: ir.Table, batches: ir.Table, keep_rejected_text: bool = False) -> ir.Table:
    """Profile documents: when they start and the default profile's time zone and units."""
    t, f = with_fields(_documents(raw_profile, batches), ["defaultProfile", "startDate", "units"])
    doc = t.document
    default = f.text("defaultProfile")
    # The store key is data (e.g. "Default", "My Weekend"), so the path is built per row, as a
    # JSON Pointer (RFC 6901): any key text is allowed once ~ and / are escaped. It is a column of
    # its own because sqlglot renders `doc ->> '/a' || x` without the parentheses it needs.
    t = t.mutate(_tz_path="/store/" + default.fill_null("Default").replace("~", "~0").replace("/", "~1")
                 + "/timezone")
    t = t.mutate(
        start_ts=utc_from_text(f.text("startDate")),
        default_profile=default,
        timezone=json_extract_string(doc, t._tz_path),
        units=f.text("units"),
    ).drop("_tz_path", FIELDS_COLUMN)
    return _latest(keep_rejected_text,
        t.mutate(reject_reason=ibis.cases((~is_object(doc), NOT_OBJECT), else_=ibis.null("string"))))
