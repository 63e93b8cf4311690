"""The fake Nightscout server on its own: it must answer the way the reference says the real one does."""

from __future__ import annotations

import hashlib

import pytest
import requests

from tests.fake_nightscout import FakeNightscout
from tests.sources.support import API_SECRET, DAY_MS, T0, TOKEN, sgv_entries

ENTRIES = "/api/v1/entries.json"


def get(ns: FakeNightscout, path: str, params: dict | None = None, headers: dict | None = None):
    return requests.get(ns.url + path, params=params, headers=headers, timeout=5)


def test_entries_date_filters_are_half_open_on_epoch_ms(day_of_entries):
    with FakeNightscout(entries=day_of_entries) as ns:
        window = {"find[date][$gte]": T0, "find[date][$lt]": T0 + DAY_MS, "count": 1000}
        docs = get(ns, ENTRIES, window).json()
    assert len(docs) == 288
    assert min(d["date"] for d in docs) == T0 and max(d["date"] for d in docs) == T0 + DAY_MS - 300_000


def test_entries_gt_and_lte_filters_exclude_and_include_their_bound(day_of_entries):
    with FakeNightscout(entries=day_of_entries) as ns:
        docs = get(ns, ENTRIES, {"find[date][$gt]": T0, "find[date][$lte]": T0 + 900_000}).json()
    assert [d["date"] for d in docs] == [T0 + 900_000, T0 + 600_000, T0 + 300_000]


def test_entries_date_given_as_a_calendar_date_is_parse_int_and_matches_everything(day_of_entries):
    # find[date][$gte]=2024-03-02 becomes 2024 (ms after 1970): the pitfall of reference §2.1.
    with FakeNightscout(entries=day_of_entries) as ns:
        docs = get(ns, ENTRIES, {"find[date][$gte]": "2024-03-02", "count": 1000}).json()
    assert len(docs) == len(day_of_entries)


def test_entries_count_defaults_to_10_and_keeps_the_newest(day_of_entries):
    with FakeNightscout(entries=day_of_entries) as ns:
        docs = get(ns, ENTRIES, {"find[date][$gte]": 0}).json()
    assert [d["date"] for d in docs] == sorted((d["date"] for d in day_of_entries), reverse=True)[:10]


def test_entries_come_newest_first_whatever_the_stored_order(day_of_entries):
    with FakeNightscout(entries=day_of_entries[::7] + day_of_entries[3::7]) as ns:
        dates = [d["date"] for d in get(ns, ENTRIES, {"find[date][$gte]": 0, "count": 1000}).json()]
    assert dates == sorted(dates, reverse=True)


def test_entries_without_a_date_filter_see_only_the_last_4_days():
    entries = sgv_entries(T0, 10, step_ms=DAY_MS)  # one a day for 10 days
    with FakeNightscout(entries=entries, now_ms=T0 + 9 * DAY_MS + 1) as ns:
        docs = get(ns, ENTRIES, {"count": 100000}).json()
    assert [d["date"] for d in docs] == [T0 + k * DAY_MS for k in (9, 8, 7, 6)]


def test_entries_by_type_path_filter_on_type(day_of_entries):
    meter = {"_id": "f" * 24, "type": "mbg", "mbg": 120, "date": T0 + 1}
    with FakeNightscout(entries=[*day_of_entries, meter]) as ns:
        docs = get(ns, "/api/v1/entries/mbg.json", {"find[date][$gte]": 0}).json()
    assert docs == [meter]


def test_treatments_compare_created_at_as_strings_and_null_missing_carbs_and_insulin():
    treatments = [
        {"_id": "a" * 24, "eventType": "Note", "created_at": "2024-03-01T10:00:00.000Z", "notes": "x"},
        {"_id": "b" * 24, "eventType": "Meal Bolus", "created_at": "2024-03-02T10:00:00.000Z",
         "insulin": 4.5, "carbs": 45},
    ]
    with FakeNightscout(treatments=treatments) as ns:
        iso = get(ns, "/api/v1/treatments.json",
                  {"find[created_at][$gte]": "2024-03-01",
                   "find[created_at][$lt]": "2024-03-02T00:00:00+00:00"}).json()
        epoch = get(ns, "/api/v1/treatments.json", {"find[created_at][$gte]": str(T0),
                                                     "find[created_at][$lt]": str(T0 + DAY_MS)}).json()
    assert iso == [{**treatments[0], "carbs": None, "insulin": None}]
    assert epoch == []  # "2024-..." sorts after "1709..." as a string: epoch ms bounds select nothing


def test_default_counts_follow_the_reference():
    treatments = [{"_id": f"{i:024x}", "eventType": "Note",
                   "created_at": f"2024-03-01T00:{i // 60:02d}:{i % 60:02d}.000Z"} for i in range(1200)]
    status = [{"_id": f"{i:024x}", "created_at": f"2024-03-01T00:00:{i:02d}.000Z"} for i in range(30)]
    with FakeNightscout(treatments=treatments, devicestatus=status, now_ms=T0 + DAY_MS) as ns:
        plain = get(ns, "/api/v1/treatments.json").json()
        found = get(ns, "/api/v1/treatments.json", {"find[eventType]": "Note"}).json()
        devicestatus = get(ns, "/api/v1/devicestatus.json", {"find[created_at][$gte]": "2024"}).json()
    assert (len(plain), len(found), len(devicestatus)) == (100, 1000, 10)


def test_wrong_api_secret_gets_401_with_the_servers_body(day_of_entries):
    with FakeNightscout(entries=day_of_entries, api_secret=API_SECRET) as ns:
        wrong = hashlib.sha1(b"not-the-secret").hexdigest()
        response = get(ns, ENTRIES, {"find[date][$gte]": 0}, {"api-secret": wrong})
    assert response.status_code == 401
    assert response.json() == {"status": 401, "message": "Unauthorized", "description": "Invalid/Missing"}


def test_plaintext_api_secret_is_rejected_and_its_sha1_in_any_case_accepted(day_of_entries):
    with FakeNightscout(entries=day_of_entries, api_secret=API_SECRET, default_role="denied") as ns:
        plain = get(ns, ENTRIES, {"find[date][$gte]": 0}, {"api-secret": API_SECRET})
        hashed = get(ns, ENTRIES, {"find[date][$gte]": 0},
                     {"api-secret": hashlib.sha1(API_SECRET.encode()).hexdigest().upper()})
    assert (plain.status_code, hashed.status_code) == (401, 200)


def test_unknown_token_on_a_readable_site_still_reads_with_the_default_role(day_of_entries):
    with FakeNightscout(entries=day_of_entries, tokens={TOKEN: "readable"}) as ns:
        data = get(ns, ENTRIES, {"find[date][$gte]": 0, "token": "typo-0000"})
        verify = get(ns, "/api/v1/verifyauth", {"token": "typo-0000"}).json()["message"]
    assert data.status_code == 200 and len(data.json()) == 10
    assert verify["canRead"] and verify["permissions"] == "DEFAULT" and verify["message"] == "UNAUTHORIZED"


def test_denied_site_reads_only_with_a_known_token(day_of_entries):
    with FakeNightscout(entries=day_of_entries, tokens={TOKEN: "readable"}, default_role="denied") as ns:
        anonymous = get(ns, ENTRIES, {"find[date][$gte]": 0})
        unknown = get(ns, ENTRIES, {"find[date][$gte]": 0, "token": "typo-0000"})
        known = get(ns, ENTRIES, {"find[date][$gte]": 0, "token": TOKEN})
        verify = get(ns, "/api/v1/verifyauth", {"token": TOKEN}).json()["message"]
    assert (anonymous.status_code, unknown.status_code, known.status_code) == (401, 401, 200)
    assert verify["message"] == "OK" and verify["permissions"] == "ROLE"


def test_answers_are_gzipped_when_the_client_asks(day_of_entries):
    with FakeNightscout(entries=day_of_entries) as ns:
        zipped = get(ns, ENTRIES, {"find[date][$gte]": 0}, {"Accept-Encoding": "gzip"})
        plain = get(ns, ENTRIES, {"find[date][$gte]": 0}, {"Accept-Encoding": "identity"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert zipped.json() == plain.json()


def test_faults_replace_the_next_answers_to_a_path_then_stop(day_of_entries):
    with FakeNightscout(entries=day_of_entries) as ns:
        ns.add_fault(ENTRIES, times=2, status=503)
        ns.add_fault(ENTRIES, body=b"<html>Bad gateway</html>")
        statuses = [get(ns, ENTRIES).status_code for _ in range(2)]
        broken = get(ns, ENTRIES)
        healthy = get(ns, ENTRIES)
    assert statuses == [503, 503]
    assert broken.status_code == 200 and broken.text == "<html>Bad gateway</html>"
    assert healthy.status_code == 200 and isinstance(healthy.json(), list)
    assert [r.status for r in ns.requests_to(ENTRIES)] == [503, 503, 200, 200]


def test_a_slow_fault_delays_the_answer_past_a_client_timeout(day_of_entries):
    with FakeNightscout(entries=day_of_entries) as ns:
        ns.add_fault(ENTRIES, delay_s=0.5)
        with pytest.raises(requests.Timeout):
            requests.get(ns.url + ENTRIES, timeout=0.1)
        assert get(ns, ENTRIES).status_code == 200  # the fault is used up
