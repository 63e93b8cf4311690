"""Typing of raw documents, shared by each bronze table and by bronze.quarantine.

Each `typed_<resource>` returns every committed, deduplicated raw row with its typed columns and
a `reject_reason` (null when the document typed cleanly). Bronze tables keep reject_reason null;
the quarantine keeps the rest, so no document is ever dropped silently.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

from lake.transforms._common import (
    committed,
    json_extract_string,
    epoch_scale,
    is_object,
    latest_per_document,
    number,
    text,
    utc_from_epoch,
    utc_from_text,
)

NOT_OBJECT = "not a JSON object"
# A text timestamp can parse to any year; CGM data before 2000 is a broken clock, not data.
EARLIEST = datetime(2000, 1, 1)
BEFORE_2000 = "timestamp before 2000"


def _documents(raw: ir.Table, batches: ir.Table) -> ir.Table:
    t = committed(raw, batches)
    # Documents without an _id still need a key: their content hash stands in for it.
    t = t.mutate(doc_key=ibis.coalesce(t.doc_id, "sha256:" + t.document.hexdigest("sha256")))
    return latest_per_document(t)


def typed_entries(raw_entries: ir.Table, batches: ir.Table) -> ir.Table:
    """Entries with the timestamp trust order of the reference: a plausible `date` (ms, or
    seconds-scale), then `sysTime`, then `dateString`."""
    t = _documents(raw_entries, batches)
    doc = t.document
    date_value = number(doc, "date")
    sys_ts, string_ts = utc_from_text(text(doc, "sysTime")), utc_from_text(text(doc, "dateString"))
    scale = epoch_scale(date_value)
    t = t.mutate(
        entry_type=text(doc, "type"),
        sgv_mg_dl=number(doc, "sgv"),
        mbg_mg_dl=number(doc, "mbg"),
        direction=text(doc, "direction"),
        trend=number(doc, "trend").cast("int32"),
        noise=number(doc, "noise").cast("int32"),
        device=text(doc, "device"),
        date_ms=date_value,
        utc_offset_min=number(doc, "utcOffset").cast("int32"),
        reading_ts=ibis.coalesce(utc_from_epoch(date_value), sys_ts, string_ts),
        ts_source=ibis.cases(
            (scale == "ms", "date"), (scale == "s", "date_seconds"),
            (sys_ts.notnull(), "sysTime"), (string_ts.notnull(), "dateString"),
            else_=ibis.null("string")),
    )
    return t.mutate(reject_reason=ibis.cases(
        (~is_object(doc), NOT_OBJECT),
        (t.reading_ts.isnull(), "no usable timestamp (date, sysTime, dateString)"),
        (t.reading_ts < EARLIEST, BEFORE_2000),
        else_=ibis.null("string")))


def typed_treatments(raw_treatments: ir.Table, batches: ir.Table) -> ir.Table:
    """Treatments; `created_at` (ISO) is the time, else a numeric `timestamp`/`date` (xDrip)."""
    t = _documents(raw_treatments, batches)
    doc = t.document
    created = ibis.coalesce(utc_from_text(text(doc, "created_at")), utc_from_epoch(number(doc, "timestamp")),
                            utc_from_text(text(doc, "timestamp")), utc_from_epoch(number(doc, "date")))
    t = t.mutate(
        event_type=text(doc, "eventType"),
        created_ts=created,
        utc_offset_min=number(doc, "utcOffset").cast("int32"),
        insulin_units=number(doc, "insulin"),
        carbs_g=number(doc, "carbs"),
        protein_g=number(doc, "protein"),
        fat_g=number(doc, "fat"),
        duration_min=number(doc, "duration"),
        absolute_u_per_h=number(doc, "absolute"),
        percent=number(doc, "percent"),
        glucose=number(doc, "glucose"),
        glucose_units=text(doc, "units"),
        entered_by=text(doc, "enteredBy"),
        notes=text(doc, "notes"),
    )
    return t.mutate(reject_reason=ibis.cases(
        (~is_object(doc), NOT_OBJECT),
        (t.created_ts.isnull(), "no usable timestamp (created_at, timestamp, date)"),
        (t.created_ts < EARLIEST, BEFORE_2000),
        else_=ibis.null("string")))


def typed_devicestatus(raw_devicestatus: ir.Table, batches: ir.Table) -> ir.Table:
    """Devicestatus essentials, whichever uploader (Loop, OpenAPS/AAPS, pump-only) wrote them."""
    t = _documents(raw_devicestatus, batches)
    doc = t.document
    t = t.mutate(
        created_ts=utc_from_text(text(doc, "created_at")),
        device=text(doc, "device"),
        utc_offset_min=number(doc, "utcOffset").cast("int32"),
        uploader_battery_pct=ibis.coalesce(number(doc, "uploader.battery"), number(doc, "uploaderBattery")),
        pump_reservoir_u=number(doc, "pump.reservoir"),
        pump_battery_pct=number(doc, "pump.battery.percent"),
        iob_u=ibis.coalesce(number(doc, "loop.iob.iob"), number(doc, "openaps.iob.iob"),
                            number(doc, "openaps.iob[0].iob"), number(doc, "pump.iob.iob")),
        cob_g=ibis.coalesce(number(doc, "loop.cob.cob"), number(doc, "openaps.suggested.COB")),
    )
    return t.mutate(reject_reason=ibis.cases(
        (~is_object(doc), NOT_OBJECT),
        (t.created_ts.isnull(), "no usable timestamp (created_at)"),
        (t.created_ts < EARLIEST, BEFORE_2000),
        else_=ibis.null("string")))


def typed_profile(raw_profile: ir.Table, batches: ir.Table) -> ir.Table:
    """Profile documents: when they start and the default profile's time zone and units."""
    t = _documents(raw_profile, batches)
    doc = t.document
    default = text(doc, "defaultProfile")
    # The store key is data (e.g. "Default", "My Weekend"), so the path is built per row, as a
    # JSON Pointer (RFC 6901): any key text is allowed once ~ and / are escaped. It is a column of
    # its own because sqlglot renders `doc ->> '/a' || x` without the parentheses it needs.
    t = t.mutate(_tz_path="/store/" + default.fill_null("Default").replace("~", "~0").replace("/", "~1")
                 + "/timezone")
    t = t.mutate(
        start_ts=utc_from_text(text(doc, "startDate")),
        default_profile=default,
        timezone=json_extract_string(doc, t._tz_path),
        units=text(doc, "units"),
    ).drop("_tz_path")
    return t.mutate(reject_reason=ibis.cases((~is_object(doc), NOT_OBJECT), else_=ibis.null("string")))
