"""NightscoutSource paging: the windows it asks for and the documents it returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from lake.sources import DocumentSource
from lake.sources.simulated import SimulatedSource, documents_for_fake_server
from tests.fake_nightscout import FakeNightscout
from tests.sources.support import DAY_MS, T0, fast_source, sgv_entries

MARCH_1 = datetime(2024, 3, 1, tzinfo=UTC)


def test_nightscout_source_implements_the_document_source_interface():
    assert isinstance(fast_source("http://127.0.0.1:9"), DocumentSource)


def test_entries_ask_for_a_half_open_epoch_ms_window_on_the_json_endpoint(day_of_entries):
    with FakeNightscout(entries=day_of_entries) as ns:
        docs = fast_source(ns.url).entries(T0, T0 + DAY_MS)
    (request,) = ns.requests
    assert request.path == "/api/v1/entries.json"
    assert request.query == {"find[date][$gte]": str(T0), "find[date][$lt]": str(T0 + DAY_MS),
                             "count": "10000"}
    assert request.headers["accept"] == "application/json" and "gzip" in request.headers["accept-encoding"]
    assert request.gzipped
    assert len(docs) == 288 and docs == sorted(docs, key=lambda d: d["date"], reverse=True)


def test_a_full_window_is_split_in_two_and_both_halves_are_reread():
    entries = sgv_entries(T0, 288)
    with FakeNightscout(entries=entries) as ns:
        docs = fast_source(ns.url, count=100).entries(T0, T0 + DAY_MS)
    assert sorted(d["_id"] for d in docs) == sorted(d["_id"] for d in entries)  # all, once each
    assert [d["date"] for d in docs] == sorted((d["date"] for d in entries), reverse=True)
    windows = [(int(r.query["find[date][$gte]"]), int(r.query["find[date][$lt]"])) for r in ns.requests]
    assert windows[0] == (T0, T0 + DAY_MS)
    assert (T0 + DAY_MS // 2, T0 + DAY_MS) in windows and (T0, T0 + DAY_MS // 2) in windows
    assert len(windows) > 3  # the halves (144 readings each) were full again and split once more


def test_documents_come_back_exactly_as_the_server_sent_them(day_of_entries):
    odd = {"_id": "e" * 24, "type": "sgv", "sgv": 10, "date": T0 + 1.5, "noise": 4,
           "dateString": "Tue Feb 13 00:50:20 AEDT 2018", "unknownField": {"nested": [1, None]}}
    with FakeNightscout(entries=[*day_of_entries, odd]) as ns:
        docs = fast_source(ns.url).entries(T0, T0 + 300_000)
    assert docs == [odd, day_of_entries[1]]


def test_treatments_ask_for_iso_created_at_bounds():
    with FakeNightscout() as ns:
        fast_source(ns.url).treatments(MARCH_1, MARCH_1 + timedelta(days=1))
    assert ns.requests[0].path == "/api/v1/treatments.json"
    assert ns.requests[0].query == {"find[created_at][$gte]": "2024-03-01T00:00:00.000Z",
                                    "find[created_at][$lt]": "2024-03-02T00:00:00.000Z", "count": "5000"}


def test_devicestatus_is_read_in_requests_of_at_most_six_hours_newest_first():
    with FakeNightscout() as ns:
        fast_source(ns.url).devicestatus(MARCH_1, MARCH_1 + timedelta(hours=20))
    bounds = [(r.query["find[created_at][$gte]"], r.query["find[created_at][$lt]"]) for r in ns.requests]
    assert bounds == [
        ("2024-03-01T14:00:00.000Z", "2024-03-01T20:00:00.000Z"),
        ("2024-03-01T08:00:00.000Z", "2024-03-01T14:00:00.000Z"),
        ("2024-03-01T02:00:00.000Z", "2024-03-01T08:00:00.000Z"),
        ("2024-03-01T00:00:00.000Z", "2024-03-01T02:00:00.000Z"),
    ]


def test_naive_datetimes_are_refused_before_any_request():
    with FakeNightscout() as ns:
        with pytest.raises(ValueError, match="timezone-aware"):
            fast_source(ns.url).treatments(datetime(2024, 3, 1), datetime(2024, 3, 2))
    assert ns.requests == []


def test_profiles_are_read_in_one_request_without_a_date_filter():
    profiles = [{"_id": f"{i:024x}", "startDate": f"202{i}-01-01T00:00:00.000Z", "store": {}}
                for i in range(3)]
    with FakeNightscout(profiles=profiles) as ns:
        docs = fast_source(ns.url).profiles()
    assert docs == profiles[::-1]
    assert [(r.path, r.query) for r in ns.requests] == [("/api/v1/profile.json", {"count": "1000"})]


def test_simulated_documents_served_by_the_fake_server_read_back_unchanged():
    start, end = MARCH_1, MARCH_1 + timedelta(days=1)
    served = documents_for_fake_server("demo-ben", start, end)
    with FakeNightscout(**served) as ns:
        source = fast_source(ns.url)
        entries = source.entries(T0, T0 + DAY_MS)
        treatments = source.treatments(start, end)
        devicestatus = source.devicestatus(start, end)
    simulated = SimulatedSource("demo-ben")
    assert entries == simulated.entries(T0, T0 + DAY_MS)
    assert treatments == simulated.treatments(start, end)
    assert devicestatus == simulated.devicestatus(start, end)


def test_serialized_windows_give_each_documents_id_and_json_text_as_sent(day_of_entries):
    no_id = {"type": "sgv", "sgv": 99, "date": T0 + 1_000}
    numeric_id = {"_id": 12345, "type": "sgv", "sgv": 98, "date": T0 + 2_000}
    with FakeNightscout(entries=[*day_of_entries, no_id, numeric_id]) as ns:
        source = fast_source(ns.url)
        table = source.serialized("entries", T0, T0 + DAY_MS)
        as_dicts = source.entries(T0, T0 + DAY_MS)
        with pytest.raises(ValueError, match="unknown collection 'profile'"):
            source.serialized("profile", T0, T0 + DAY_MS)
    assert table.column_names == ["doc_id", "document"]
    assert [orjson.loads(text) for text in table.column("document").to_pylist()] == as_dicts
    ids = dict(zip(table.column("doc_id").to_pylist(), table.column("document").to_pylist()))
    assert orjson.loads(ids["12345"]) == numeric_id and orjson.loads(ids[None]) == no_id
    assert set(ids) == {str(d["_id"]) if "_id" in d else None for d in as_dicts}
    assert len(ids) == table.num_rows == 290


def test_serialized_devicestatus_keeps_the_six_hour_requests():
    with FakeNightscout() as ns:
        fast_source(ns.url).serialized("devicestatus", T0, T0 + 12 * 3_600_000)
    assert [r.query["find[created_at][$gte]"] for r in ns.requests] == [
        "2024-03-01T06:00:00.000Z", "2024-03-01T00:00:00.000Z"]
