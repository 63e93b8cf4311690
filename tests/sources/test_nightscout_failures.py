"""NightscoutSource under failure: retries where they help, clear errors where they do not, and
politeness (one request at a time per site, a pause between requests)."""

from __future__ import annotations

import threading

import pytest

from lake.sources.nightscout import NightscoutError
from tests.fake_nightscout import FakeNightscout
from tests.sources.support import DAY_MS, T0, fast_source

ENTRIES = "/api/v1/entries.json"
WINDOW = "entries 2024-03-01T00:00Z..2024-03-02T00:00Z"


def test_server_errors_are_retried_until_the_site_recovers(day_of_entries):
    with FakeNightscout(entries=day_of_entries) as ns:
        ns.add_fault(ENTRIES, times=2, status=502)
        docs = fast_source(ns.url, max_attempts=3).entries(T0, T0 + DAY_MS)
    assert len(docs) == 288
    assert [r.status for r in ns.requests] == [502, 502, 200]


def test_server_errors_after_the_last_attempt_name_the_site_the_window_and_the_status(day_of_entries):
    with FakeNightscout(entries=day_of_entries) as ns:
        ns.add_fault(ENTRIES, times=10, status=500)
        with pytest.raises(NightscoutError) as failure:
            fast_source(ns.url, max_attempts=3).entries(T0, T0 + DAY_MS)
    message = str(failure.value)
    assert ns.url in message and WINDOW in message and "HTTP 500" in message and "3 attempts" in message
    assert len(ns.requests) == 3


@pytest.mark.parametrize("status", [403, 404])
def test_other_client_errors_are_reported_at_once_without_retry(day_of_entries, status):
    with FakeNightscout(entries=day_of_entries) as ns:
        ns.add_fault(ENTRIES, status=status)
        with pytest.raises(NightscoutError, match=f"HTTP {status}") as failure:
            fast_source(ns.url, max_attempts=3).entries(T0, T0 + DAY_MS)
    assert WINDOW in str(failure.value) and len(ns.requests) == 1


def test_a_body_that_is_not_json_is_a_clear_error(day_of_entries):
    with FakeNightscout(entries=day_of_entries) as ns:
        ns.add_fault(ENTRIES, body=b"<html>502 Bad Gateway</html>")
        with pytest.raises(NightscoutError, match="not valid JSON") as failure:
            fast_source(ns.url).entries(T0, T0 + DAY_MS)
    assert WINDOW in str(failure.value)


def test_json_that_is_not_a_list_of_documents_is_a_clear_error(day_of_entries):
    with FakeNightscout(entries=day_of_entries) as ns:
        ns.add_fault(ENTRIES, body=b'{"status": "ok"}')
        with pytest.raises(NightscoutError, match="expected a JSON list, got dict"):
            fast_source(ns.url).entries(T0, T0 + DAY_MS)
        ns.add_fault(ENTRIES, body=b"[1, 2]")
        with pytest.raises(NightscoutError, match="list of objects"):
            fast_source(ns.url).entries(T0, T0 + DAY_MS)


def test_a_timeout_is_retried_and_the_retry_can_succeed(day_of_entries):
    with FakeNightscout(entries=day_of_entries) as ns:
        ns.add_fault(ENTRIES, delay_s=1.0)
        docs = fast_source(ns.url, timeout_s=0.2, max_attempts=2).entries(T0, T0 + DAY_MS)
    assert len(docs) == 288 and len(ns.requests) == 2


def test_timeouts_on_every_attempt_are_reported_with_the_window(day_of_entries):
    with FakeNightscout(entries=day_of_entries) as ns:
        ns.add_fault(ENTRIES, delay_s=1.0, times=2)
        with pytest.raises(NightscoutError, match="no answer within 0.2 s") as failure:
            fast_source(ns.url, timeout_s=0.2, max_attempts=2).entries(T0, T0 + DAY_MS)
    assert WINDOW in str(failure.value) and len(ns.requests) == 2


def test_an_unreachable_site_is_reported_after_the_retries():
    with FakeNightscout() as ns:
        url = ns.url  # the port is free again once the server stops
    with pytest.raises(NightscoutError, match="could not connect") as failure:
        fast_source(url, max_attempts=2).entries(T0, T0 + DAY_MS)
    assert url in str(failure.value) and WINDOW in str(failure.value)


def test_never_two_requests_in_flight_to_one_site_even_from_many_threads(day_of_entries):
    with FakeNightscout(entries=day_of_entries) as ns:
        ns.add_fault(ENTRIES, delay_s=0.05, times=8)  # slow answers make overlaps likely if allowed
        sources = [fast_source(ns.url), fast_source(ns.url)]  # two sources, one site
        threads = [threading.Thread(target=sources[i % 2].entries, args=(T0 + i * 3_600_000, T0 + DAY_MS))
                   for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(ns.requests) == 8 and ns.max_in_flight == 1


def test_consecutive_requests_keep_the_pause_between_them():
    with FakeNightscout() as ns:
        source = fast_source(ns.url, pause_s=0.1)
        for hour in range(3):
            source.entries(T0 + hour * 3_600_000, T0 + (hour + 1) * 3_600_000)
    arrivals = [r.received_at for r in ns.requests]
    assert all(later - earlier >= 0.1 for earlier, later in zip(arrivals, arrivals[1:]))
