"""lake.sources.nightscout.transport: one polite, retrying, redacting HTTP channel per site.

Every request to a Nightscout site goes through `SiteChannel.get_json`, which
- sends the credentials (access token as `?token=`, API secret as the `api-secret` header holding
  its SHA-1 hex) and asks for JSON and gzip;
- lets one request at a time reach a site (a lock per site URL, shared by all channels of this
  process) and keeps a pause between consecutive requests;
- retries 5xx/429, connection errors and timeouts with exponential backoff, using dlt's requests
  helper (`dlt.sources.helpers.requests.Client`: a tenacity-wrapped `Session.send` that honours
  Retry-After). dlt's `RESTClient` is deliberately not used: at DEBUG level its `_log_request`
  logs the full URL with params and all headers (token and api-secret hash), and its paginators
  do not fit Nightscout's time-window paging;
- turns every failure into a `NightscoutError` whose message is built here. The HTTP stack's own
  exceptions quote the full URL (with `token=`), so they are never chained: the error is raised
  outside the `except` block, leaving neither `__cause__` nor `__context__`.
urllib3 logs request lines (with the query) at DEBUG; a filter on its loggers redacts credentials.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from typing import Any

import orjson
from dlt.sources.helpers.requests import Client, Timeout
from dlt.sources.helpers.requests import ConnectionError as RequestsConnectionError

from lake.config import Site
from lake.sources.nightscout import settings
from lake.sources.nightscout.errors import NightscoutAuthError, NightscoutError

log = logging.getLogger(__name__)

_CREDENTIAL_IN_TEXT = re.compile(r"((?:token|secret)=)[^&\s'\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with the value of every `token=` / `secret=` query parameter replaced by ***."""
    return _CREDENTIAL_IN_TEXT.sub(r"\1***", text)


class _RedactCredentials(logging.Filter):
    """Rewrites log records whose message quotes a URL with credentials."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


# The urllib3 loggers that quote request URLs (request line, retries, redirects, header warnings).
for _name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.poolmanager", "urllib3.util.retry"):
    logging.getLogger(_name).addFilter(_RedactCredentials())


class _SiteGate:
    """Serialises the requests to one site and remembers when the last one ended."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last_end = float("-inf")


_GATES: dict[str, _SiteGate] = {}
_GATES_LOCK = threading.Lock()


def _gate_for(url: str) -> _SiteGate:
    with _GATES_LOCK:
        return _GATES.setdefault(url, _SiteGate())


class SiteChannel:
    """GET JSON from one Nightscout site, politely and without ever leaking its credentials."""

    def __init__(self, site: Site, *, pause_s: float, timeout_s: float, max_attempts: int,
                 backoff_s: float) -> None:
        self.site = site
        self._pause_s = pause_s
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._gate = _gate_for(site.url)
        self._client = Client(
            request_timeout=timeout_s,
            raise_for_status=False,  # statuses are mapped to NightscoutError below, without the URL
            status_codes=settings.RETRY_STATUSES,
            request_max_attempts=max_attempts,
            request_backoff_factor=backoff_s,  # sleeps backoff_s * 2**(attempt-1), capped
            request_max_retry_delay=settings.MAX_RETRY_DELAY_S,
        )

    def where(self, what: str) -> str:
        """The message prefix naming the site, the subject and what was being read."""
        return f"Nightscout site {self.site.url} (subject {self.site.subject}): {what}"

    def get_json(self, path: str, params: dict[str, str], *, what: str) -> Any:
        """GET `path` with `params` and return the decoded JSON body; raise NightscoutError."""
        query, headers = self._credentials()
        query.update(params)
        failure = None
        with self._gate.lock:
            wait = self._gate.last_end + self._pause_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            started = time.monotonic()
            try:
                response = self._client.session.get(self.site.url + path, params=query, headers=headers)
            except Exception as exc:  # noqa: BLE001 - any HTTP-stack error may quote the URL
                failure = self._describe(exc)
            finally:
                self._gate.last_end = ended = time.monotonic()
        if failure is not None:
            raise NightscoutError(f"{self.where(what)}: {failure}") from None
        log.debug("%s: HTTP %s, %d bytes in %.2f s", self.where(what), response.status_code,
                  len(response.content), ended - started)
        return self._decode(response.status_code, response.content, what)

    def _credentials(self) -> tuple[dict[str, str], dict[str, str]]:
        # Built per request, so no long-lived attribute holds a revealed secret.
        query: dict[str, str] = {}
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        if self.site.token is not None:
            query["token"] = self.site.token.reveal()
        if self.site.api_secret is not None:
            # Nightscout compares the SHA-1 hex of API_SECRET and rejects the plaintext.
            headers["api-secret"] = hashlib.sha1(self.site.api_secret.reveal().encode()).hexdigest()
        return query, headers

    @property
    def _gave_up(self) -> str:
        return f"gave up after {self._max_attempts} attempts"

    def _describe(self, exc: Exception) -> str:
        # Only the exception's class name: its message quotes the URL, token included.
        kind = type(exc).__name__
        if isinstance(exc, Timeout):
            return f"no answer within {self._timeout_s:g} s ({kind}), {self._gave_up}"
        if isinstance(exc, RequestsConnectionError):
            return f"could not connect ({kind}), {self._gave_up}"
        return f"request failed ({kind})"

    def _decode(self, status: int, body: bytes, what: str) -> Any:
        if status == 401:
            raise NightscoutAuthError(
                f"{self.where(what)}: HTTP 401 Unauthorized: the site rejected the token/API secret "
                "or requires one (not retried)"
            )
        if status in settings.RETRY_STATUSES:
            raise NightscoutError(f"{self.where(what)}: HTTP {status}, {self._gave_up}")
        if not 200 <= status < 300:
            raise NightscoutError(f"{self.where(what)}: HTTP {status} (not retried)")
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # raised below, outside the handler, so no body excerpt rides along as __context__
        raise NightscoutError(
            f"{self.where(what)}: the response is not valid JSON (HTTP {status}, {len(body)} bytes)"
        )

    def get_documents(self, path: str, params: dict[str, str], *, what: str) -> list[dict[str, Any]]:
        """Like `get_json`, but the body must be a JSON list of objects (documents)."""
        body = self.get_json(path, params, what=what)
        if not isinstance(body, list):
            raise NightscoutError(f"{self.where(what)}: expected a JSON list, got {type(body).__name__}")
        if not all(isinstance(doc, dict) for doc in body):
            raise NightscoutError(f"{self.where(what)}: expected a JSON list of objects")
        return body
