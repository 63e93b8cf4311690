"""NightscoutSource credentials: how they are sent, and how a wrong one fails (fast, once, clearly)."""

from __future__ import annotations

import hashlib

import pytest

from lake.sources.nightscout import NightscoutAuthError
from tests.fake_nightscout import FakeNightscout
from tests.sources.support import API_SECRET, DAY_MS, T0, TOKEN, fast_source

VERIFYAUTH = "/api/v1/verifyauth"


def test_an_access_token_is_sent_as_the_token_query_parameter(day_of_entries):
    with FakeNightscout(entries=day_of_entries, tokens={TOKEN: "readable"}, default_role="denied") as ns:
        source = fast_source(ns.url, token=TOKEN)
        source.verify()
        docs = source.entries(T0, T0 + DAY_MS)
    assert len(docs) == 288
    assert all(r.query["token"] == TOKEN and "api-secret" not in r.headers for r in ns.requests)


def test_an_api_secret_is_sent_as_its_sha1_hex_header_never_in_plaintext(day_of_entries):
    with FakeNightscout(entries=day_of_entries, api_secret=API_SECRET, default_role="denied") as ns:
        source = fast_source(ns.url, api_secret=API_SECRET)
        source.verify()
        docs = source.entries(T0, T0 + DAY_MS)
    assert len(docs) == 288
    sha1 = hashlib.sha1(API_SECRET.encode()).hexdigest()
    assert all(r.headers["api-secret"] == sha1 and "token" not in r.query for r in ns.requests)
    assert not any(API_SECRET in str(r.query) + str(r.headers) for r in ns.requests)


def test_verify_passes_without_credentials_on_a_world_readable_site():
    with FakeNightscout() as ns:
        fast_source(ns.url).verify()
    assert len(ns.requests_to(VERIFYAUTH)) == 1


def test_a_wrong_api_secret_fails_fast_naming_the_site_with_one_verifyauth_request():
    with FakeNightscout(api_secret=API_SECRET) as ns:
        with pytest.raises(NightscoutAuthError) as failure:
            fast_source(ns.url, api_secret="the-wrong-api-secret").verify()
    message = str(failure.value)
    assert ns.url in message and "API secret was rejected" in message
    assert "the-wrong-api-secret" not in message
    assert hashlib.sha1(b"the-wrong-api-secret").hexdigest() not in message
    assert [r.path for r in ns.requests] == [VERIFYAUTH]


def test_an_unknown_token_on_a_readable_site_is_reported_as_not_recognised():
    # The server ignores an unknown ?token= and answers with anonymous rights: reads would "work".
    with FakeNightscout(tokens={TOKEN: "readable"}) as ns:
        with pytest.raises(NightscoutAuthError, match="token is not recognised") as failure:
            fast_source(ns.url, token="typo-0123456789abcdef").verify()
    assert "typo-0123456789abcdef" not in str(failure.value)
    assert len(ns.requests) == 1


def test_a_token_without_read_rights_is_rejected_once():
    with FakeNightscout(tokens={TOKEN: "denied"}, default_role="denied") as ns:
        with pytest.raises(NightscoutAuthError, match="token was rejected"):
            fast_source(ns.url, token=TOKEN).verify()
    assert len(ns.requests) == 1


def test_no_credential_on_a_denied_site_asks_for_a_token():
    with FakeNightscout(default_role="denied") as ns:
        with pytest.raises(NightscoutAuthError, match="not world-readable"):
            fast_source(ns.url).verify()


def test_a_401_on_verifyauth_is_an_auth_error_and_is_not_retried():
    with FakeNightscout() as ns:
        ns.add_fault(VERIFYAUTH, status=401, times=5)
        with pytest.raises(NightscoutAuthError, match="HTTP 401"):
            fast_source(ns.url, token=TOKEN, max_attempts=5).verify()
    assert len(ns.requests) == 1


def test_a_401_while_reading_is_an_auth_error_naming_the_window_and_is_not_retried(day_of_entries):
    with FakeNightscout(entries=day_of_entries, api_secret=API_SECRET) as ns:
        with pytest.raises(NightscoutAuthError) as failure:
            fast_source(ns.url, api_secret="the-wrong-api-secret", max_attempts=5).entries(T0, T0 + DAY_MS)
    assert "entries 2024-03-01T00:00Z..2024-03-02T00:00Z" in str(failure.value)
    assert "HTTP 401" in str(failure.value) and ns.url in str(failure.value)
    assert len(ns.requests) == 1
