"""Credentials never leak: not in exception text, not in chained exceptions, not in log records.

requests, urllib3 and dlt quote the full request URL (with `?token=`) in their exceptions and
DEBUG logs; these tests make those paths happen for real and inspect everything that comes out.
"""

from __future__ import annotations

import hashlib
import logging
import traceback
from collections.abc import Callable

import pytest

from lake.sources.nightscout import NightscoutError
from tests.fake_nightscout import FakeNightscout
from tests.sources.support import API_SECRET, DAY_MS, T0, TOKEN, fast_source

ENTRIES = "/api/v1/entries.json"
SECRETS = (TOKEN, API_SECRET, hashlib.sha1(API_SECRET.encode()).hexdigest())


def everything_said_about(error: BaseException) -> str:
    """The exception's text, repr, full formatted traceback and every chained exception."""
    chained = [error.__cause__, error.__context__]
    return " ".join([str(error), repr(error), *traceback.format_exception(error), *map(repr, chained)])


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def with_500s(ns: FakeNightscout) -> None:
    ns.add_fault(ENTRIES, times=10, status=500)


def with_timeouts(ns: FakeNightscout) -> None:
    ns.add_fault(ENTRIES, times=2, delay_s=0.6)


def with_bad_json(ns: FakeNightscout) -> None:
    ns.add_fault(ENTRIES, body=b"not json " + TOKEN.encode()[:4])


@pytest.mark.parametrize("credential", ["token", "api_secret"])
@pytest.mark.parametrize("failure", [with_500s, with_timeouts, with_bad_json], ids=lambda f: f.__name__)
def test_errors_and_logs_never_contain_a_credential(caplog, credential: str,
                                                    failure: Callable[[FakeNightscout], None]):
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request line, query string included
    with FakeNightscout(api_secret=API_SECRET, tokens={TOKEN: "readable"}) as ns:
        failure(ns)
        source = fast_source(ns.url, timeout_s=0.3, max_attempts=2,
                             **{"token": TOKEN} if credential == "token" else {"api_secret": API_SECRET})
        with pytest.raises(NightscoutError) as raised:
            source.entries(T0, T0 + DAY_MS)
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    assert_no_secret(everything_said_about(raised.value))
    assert_no_secret(caplog.text)
    assert_no_secret(" ".join(str(r.args) + r.getMessage() for r in caplog.records))
    assert_no_secret(repr(source))


def test_urllib3_request_lines_are_logged_with_the_token_redacted(caplog):
    caplog.set_level(logging.DEBUG)
    with FakeNightscout(tokens={TOKEN: "readable"}) as ns:
        fast_source(ns.url, token=TOKEN).entries(T0, T0 + DAY_MS)
    request_lines = [r.getMessage() for r in caplog.records if r.name == "urllib3.connectionpool"
                     and ENTRIES in r.getMessage()]
    assert request_lines and all("token=***" in line for line in request_lines)
    assert_no_secret(caplog.text)


def test_an_unreachable_site_error_does_not_carry_the_token(caplog):
    caplog.set_level(logging.DEBUG)
    with FakeNightscout() as ns:
        url = ns.url
    with pytest.raises(NightscoutError) as raised:
        fast_source(url, token=TOKEN, max_attempts=2).entries(T0, T0 + DAY_MS)
    assert raised.value.__context__ is None
    assert_no_secret(everything_said_about(raised.value))
    assert_no_secret(caplog.text)
