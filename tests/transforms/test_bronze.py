"""bronze: typing raw documents, the timestamp trust order, de-duplication and the quarantine."""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis

from lake.transforms.bronze.entries import entries
from lake.transforms.bronze.quarantine import quarantine
from lake.transforms.bronze.treatments import treatments
from tests.transforms.conftest import FETCHED, batches, ms, raw_table, rows


def test_entries_take_a_plausible_date_in_ms_first(duck):
    raw = raw_table([{"_id": "a", "type": "sgv", "sgv": 120, "date": ms("2024-03-01T10:00:00"),
                      "sysTime": "2024-03-01T11:00:00Z", "utcOffset": 60}])
    assert rows(duck, entries(raw, batches("b1")), "doc_id", "reading_ts", "ts_source", "utc_offset_min") == [
        ("a", datetime(2024, 3, 1, 10, 0), "date", 60)]


def test_entries_round_fractional_ms_and_detect_seconds_scale_dates(duck):
    raw = raw_table([
        {"_id": "frac", "type": "sgv", "sgv": 100, "date": ms("2024-03-01T10:00:00") + 0.6},
        {"_id": "secs", "type": "sgv", "sgv": 100, "date": ms("2024-03-01T10:05:00") / 1000},
    ])
    got = sorted(rows(duck, entries(raw, batches("b1")), "doc_id", "reading_ts", "ts_source"))
    assert got == [("frac", datetime(2024, 3, 1, 10, 0, 0, 1000), "date"),
                   ("secs", datetime(2024, 3, 1, 10, 5), "date_seconds")]


def test_entries_fall_back_to_systime_then_datestring_when_date_is_zero_or_missing(duck):
    raw = raw_table([
        {"_id": "zero", "type": "sgv", "sgv": 100, "date": 0, "sysTime": "2024-03-01T10:00:00.000Z"},
        {"_id": "offset", "type": "sgv", "sgv": 100, "dateString": "2024-03-01T03:05:00.000-07:00"},
    ])
    got = sorted(rows(duck, entries(raw, batches("b1")), "doc_id", "reading_ts", "ts_source"))
    assert got == [("offset", datetime(2024, 3, 1, 10, 5), "dateString"),
                   ("zero", datetime(2024, 3, 1, 10, 0), "sysTime")]


def test_entries_read_an_sgv_sent_as_a_string_and_keep_unknown_fields_out_of_the_way(duck):
    raw = raw_table([{"_id": "s", "type": "sgv", "sgv": "120", "date": ms("2024-03-01T10:00:00"),
                      "someNewField": {"x": 1}}])
    assert rows(duck, entries(raw, batches("b1")), "sgv_mg_dl") == [(120.0,)]


def test_entries_keep_one_row_per_document_the_latest_fetch(duck):
    doc = {"_id": "dup", "type": "sgv", "sgv": 100, "date": ms("2024-03-01T10:00:00")}
    newer = dict(doc, sgv=101)
    # Batch ids are random: the later fetch has the smaller one here, so only fetched_at can decide.
    raw = ibis.union(raw_table([doc], batch="b9"),
                     raw_table([newer], batch="a1", fetched=datetime(2024, 3, 6)))
    assert rows(duck, entries(raw, batches("b9", "a1")), "doc_id", "sgv_mg_dl") == [("dup", 101.0)]


def test_entries_of_an_uncommitted_batch_are_invisible(duck):
    raw = raw_table([{"_id": "x", "type": "sgv", "sgv": 100, "date": ms("2024-03-01T10:00:00")}], batch="crashed")
    assert rows(duck, entries(raw, batches("b1")), "doc_id") == []


def test_a_document_without_id_is_keyed_by_its_content(duck):
    raw = raw_table([{"type": "sgv", "sgv": 100, "date": ms("2024-03-01T10:00:00")}])
    (doc_id,) = rows(duck, entries(raw, batches("b1")), "doc_id")[0]
    assert doc_id.startswith("sha256:") and len(doc_id) == len("sha256:") + 64


def test_untypable_documents_go_to_quarantine_with_the_reason_and_nowhere_else(duck):
    raw_entries = raw_table([
        {"_id": "good", "type": "sgv", "sgv": 100, "date": ms("2024-03-01T10:00:00")},
        {"_id": "notime", "type": "sgv", "sgv": 100, "dateString": "Tue Feb 13 00:50:20 AEDT 2018"},
        [1, 2, 3],
        {"type": "sgv", "sgv": 110, "date": ms("2024-03-01T10:05:00")},  # no _id, typed: not quarantined
    ])
    raw_treatments = raw_table([{"_id": "t", "eventType": "Note", "notes": "no time at all"}])
    q = quarantine({"entries": raw_entries, "treatments": raw_treatments}, batches("b1"),
                   {"entries": entries(raw_entries, batches("b1")),
                    "treatments": treatments(raw_treatments, batches("b1"))})
    got = sorted(rows(duck, q, "resource", "doc_id", "reject_reason"))
    assert len(got) == 3
    assert got[0] == ("entries", "notime", "no usable timestamp (date, sysTime, dateString)")
    assert got[1][0] == "entries" and got[1][1].startswith("sha256:") and got[1][2] == "not a JSON object"
    assert got[2] == ("treatments", "t", "no usable timestamp (created_at, timestamp, date)")
    typed = sorted(rows(duck, entries(raw_entries, batches("b1")), "doc_id"))
    assert typed[0] == ("good",) and len(typed) == 2 and typed[1][0].startswith("sha256:")


def test_treatments_turn_the_v1_null_quirk_into_nulls_and_read_created_at(duck):
    raw = raw_table([
        {"_id": "m", "eventType": "Meal Bolus", "created_at": "2024-03-01T12:02:00.000Z", "insulin": 4.5,
         "carbs": 45, "utcOffset": 60},
        {"_id": "tb", "eventType": "Temp Basal", "created_at": "2024-03-01T12:10:00.000Z", "duration": 30,
         "absolute": 0.35, "carbs": None, "insulin": None},
    ])
    got = sorted(rows(duck, treatments(raw, batches("b1")), "doc_id", "event_type", "created_ts", "insulin_units",
                      "carbs_g", "duration_min"))
    assert got == [("m", "Meal Bolus", datetime(2024, 3, 1, 12, 2), 4.5, 45.0, None),
                   ("tb", "Temp Basal", datetime(2024, 3, 1, 12, 10), None, None, 30.0)]


def test_profile_reads_the_default_profiles_time_zone_whatever_its_name(duck):
    from lake.transforms.bronze.profile import profile

    raw = raw_table([{"_id": "p", "defaultProfile": "My Weekend/2", "startDate": "2024-01-10T00:00:00.000Z",
                      "units": "mmol", "store": {"My Weekend/2": {"timezone": "Europe/Berlin"}}}])
    assert rows(duck, profile(raw, batches("b1")), "doc_id", "timezone", "units", "start_ts") == [
        ("p", "Europe/Berlin", "mmol", datetime(2024, 1, 10))]


def test_a_document_whose_text_timestamp_is_before_2000_goes_to_quarantine(duck):
    raw = raw_table([{"_id": "old", "type": "sgv", "sgv": 100, "sysTime": "1999-12-31T23:00:00Z"}])
    assert rows(duck, entries(raw, batches("b1")), "doc_id") == []
    q = quarantine({"entries": raw}, batches("b1"), {"entries": entries(raw, batches("b1"))})
    assert rows(duck, q, "doc_id", "reject_reason") == [("old", "timestamp before 2000")]


def test_a_document_whose_latest_copy_cannot_be_typed_is_quarantined_with_that_copy(duck):
    # fetched twice: typed the first time, garbled the second (the latest copy wins; its batch id
    # is the smaller one, as random ids may be, so only fetched_at can tell them apart)
    first = raw_table([{"_id": "x", "type": "sgv", "sgv": 100, "date": ms("2024-03-01T10:00:00")},
                       {"_id": "y", "type": "sgv", "sgv": 110, "date": ms("2024-03-01T10:05:00")}],
                      batch="b9")
    second = raw_table([{"_id": "x", "type": "sgv", "sgv": 100},
                        {"_id": "y", "type": "sgv", "sgv": 110, "date": ms("2024-03-01T10:05:00")}],
                       batch="a1", fetched=FETCHED + timedelta(hours=1))
    raw, committed = first.union(second), batches("b9", "a1")
    bronze = entries(raw, committed)
    assert rows(duck, bronze, "doc_id") == [("y",)]
    q = quarantine({"entries": raw}, committed, {"entries": bronze})
    assert rows(duck, q, "doc_id", "batch_id", "reject_reason") == [
        ("x", "a1", "no usable timestamp (date, sysTime, dateString)")]


def test_treatments_fall_back_to_timestamp_then_date_only_when_created_at_gives_no_time(duck):
    raw = raw_table([
        {"_id": "ca", "eventType": "Note", "created_at": "2024-03-01T12:00:00Z", "timestamp": ms("2024-03-02")},
        {"_id": "ts_ms", "eventType": "Note", "created_at": "garbage", "timestamp": ms("2024-03-01T12:01:00"),
         "date": ms("2024-03-02")},
        {"_id": "ts_text", "eventType": "Note", "timestamp": "2024-03-01T12:02:00Z", "date": ms("2024-03-02")},
        {"_id": "date_s", "eventType": "Note", "timestamp": 0, "date": ms("2024-03-01T12:03:00") / 1000},
    ])
    got = sorted(rows(duck, treatments(raw, batches("b1")), "doc_id", "created_ts"))
    assert got == [("ca", datetime(2024, 3, 1, 12, 0)), ("date_s", datetime(2024, 3, 1, 12, 3)),
                   ("ts_ms", datetime(2024, 3, 1, 12, 1)), ("ts_text", datetime(2024, 3, 1, 12, 2))]


def test_a_plausible_date_wins_over_text_and_a_document_with_leading_whitespace_is_still_an_object(duck):
    raw = raw_table([{"_id": "w", "type": "sgv", "sgv": 100, "date": ms("2024-03-01T10:00:00"),
                      "sysTime": "garbage", "dateString": "2024-03-01T11:00:00Z"}])
    raw = raw.mutate(document="\n  " + raw.document)
    assert rows(duck, entries(raw, batches("b1")), "doc_id", "reading_ts", "ts_source") == [
        ("w", datetime(2024, 3, 1, 10, 0), "date")]


def test_a_text_time_before_2000_gives_way_to_the_next_plausible_one(duck):
    # A reset clock's "1970-01-01" sysTime or created_at must not hide a good dateString or timestamp.
    raw_e = raw_table([{"_id": "e", "type": "sgv", "sgv": 100, "date": 0, "sysTime": "1970-01-01T00:00:00Z",
                        "dateString": "2024-03-01T10:00:00Z"}])
    assert rows(duck, entries(raw_e, batches("b1")), "doc_id", "reading_ts", "ts_source") == [
        ("e", datetime(2024, 3, 1, 10, 0), "dateString")]
    raw_t = raw_table([{"_id": "t", "eventType": "Meal Bolus", "created_at": "1970-01-01T00:00:00.000Z",
                        "timestamp": ms("2024-03-01T10:00:00"), "insulin": 2},
                       {"_id": "u", "eventType": "Meal Bolus", "timestamp": "1970-01-01T00:00:00Z",
                        "date": ms("2024-03-01T11:00:00"), "insulin": 2}])
    assert sorted(rows(duck, treatments(raw_t, batches("b1")), "doc_id", "created_ts")) == [
        ("t", datetime(2024, 3, 1, 10, 0)), ("u", datetime(2024, 3, 1, 11, 0))]


def test_treatments_take_the_duration_from_milliseconds_when_only_those_are_sent(duck):
    raw = raw_table([{"_id": "tb", "eventType": "Temp Basal", "created_at": "2024-03-01T12:10:00.000Z",
                      "durationInMilliseconds": 1800000, "absolute": 0.35},
                     {"_id": "both", "eventType": "Temp Basal", "created_at": "2024-03-01T12:40:00.000Z",
                      "duration": 20, "durationInMilliseconds": 1800000, "absolute": 0.35}])
    assert sorted(rows(duck, treatments(raw, batches("b1")), "doc_id", "duration_min")) == [
        ("both", 20.0), ("tb", 30.0)]


def test_two_copies_of_a_document_in_one_batch_keep_the_same_winner_whatever_their_order(duck):
    # One fetch returned the document twice, edited in between (pagination overlap): no fetch time
    # or batch tells them apart, so the choice must not depend on the order the rows come in.
    a = {"_id": "dup", "type": "sgv", "sgv": 100, "date": ms("2024-03-01T10:00:00")}
    b = dict(a, sgv=101)
    winners = {rows(duck, entries(raw_table(docs), batches("b1")), "sgv_mg_dl")[0]
               for docs in ([a, b], [b, a])}
    assert len(winners) == 1


def test_devicestatus_reads_the_essentials_whichever_uploader_wrote_them(duck):
    from lake.transforms.bronze.devicestatus import devicestatus

    at = "2024-03-01T12:00:00Z"
    raw = raw_table([
        {"_id": "loop", "created_at": at, "device": "loop://iPhone", "uploader": {"battery": 80},
         "pump": {"reservoir": 120.5, "battery": {"percent": 75}},
         "loop": {"iob": {"iob": 1.25}, "cob": {"cob": 18}}},
        {"_id": "openaps", "created_at": at, "device": "openaps://rig", "uploaderBattery": 55,
         "openaps": {"iob": {"iob": 0.5}, "suggested": {"COB": 12}, "enacted": {"COB": 11}}},
        {"_id": "aaps", "created_at": at, "device": "openaps://AAPS",
         "openaps": {"iob": [{"iob": 2.0}, {"iob": 1.9}], "enacted": {"COB": 30}}},
        {"_id": "pump", "created_at": at, "device": "medtronic", "pump": {"iob": {"iob": 3.5}}},
    ])
    got = sorted(rows(duck, devicestatus(raw, batches("b1")), "doc_id", "uploader_battery_pct",
                      "pump_reservoir_u", "pump_battery_pct", "iob_u", "cob_g"))
    assert got == [("aaps", None, None, None, 2.0, 30.0), ("loop", 80.0, 120.5, 75.0, 1.25, 18.0),
                   ("openaps", 55.0, None, None, 0.5, 12.0), ("pump", None, None, None, 3.5, None)]


def test_a_document_without_utc_offset_takes_the_one_its_time_was_written_in(duck):
    # Documents from before Nightscout 0.12 may lack utcOffset but keep their uploader's text time.
    raw_e = raw_table([
        {"_id": "old", "type": "sgv", "sgv": 100, "dateString": "2014-07-19T02:44:15.000-07:00"},
        {"_id": "utc", "type": "sgv", "sgv": 100, "dateString": "2014-07-19T09:44:15.000Z"},
        {"_id": "both", "type": "sgv", "sgv": 100, "dateString": "2014-07-19T02:44:15.000-07:00",
         "utcOffset": 60},
    ])
    assert sorted(rows(duck, entries(raw_e, batches("b1")), "doc_id", "reading_ts", "utc_offset_min")) == [
        ("both", datetime(2014, 7, 19, 9, 44, 15), 60), ("old", datetime(2014, 7, 19, 9, 44, 15), -420),
        ("utc", datetime(2014, 7, 19, 9, 44, 15), None)]
    raw_t = raw_table([{"_id": "t", "eventType": "Note", "created_at": "2014-07-19T11:44:15+0200"}])
    assert rows(duck, treatments(raw_t, batches("b1")), "doc_id", "utc_offset_min") == [("t", 120)]
