"""A real local HTTP server speaking the Nightscout v1 read API over in-memory documents.

It implements the semantics our client relies on, as `reference/nightscout-api.md` describes the
real server (cgm-remote-monitor 15.x):
- entries filter on `date` with $gte/$gt/$lt/$lte (values go through JS `parseInt`), other
  `find[field]=value` keys compare for equality; `/entries/<type>.json` filters on type;
  treatments and devicestatus filter on `created_at` compared as strings (non-numeric values are
  first normalised to UTC ISO, as the server does with moment);
- `count` (defaults: entries 10, treatments 100 without `find` and 1000 with it, devicestatus 10,
  profile 10), newest first, and the hidden 4-day window (relative to `now_ms`) when a query has
  no condition on the date field; treatments come back with `carbs`/`insulin` null when absent;
- auth: API secret as the SHA-1 (or SHA-512) hex in `api-secret` or `?secret=` (plaintext is
  rejected), access tokens as `?token=` (an unknown token is ignored and the request runs with
  the default role, as the real server does), `default_role` "readable" or "denied", 401 bodies as
  the server sends them, and /api/v1/verifyauth;
- gzip when asked, fault injection per path, and a log of every request with the peak number of
  requests in flight at once.

    with FakeNightscout(entries=docs, api_secret="a-long-api-secret") as ns:
        requests.get(ns.url + "/api/v1/entries.json", ...)
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

DAY_MS = 86_400_000
UNAUTHORIZED = {"status": 401, "message": "Unauthorized", "description": "Invalid/Missing"}
ROLE_PERMISSIONS = {"admin": {"read", "write", "admin"}, "readable": {"read"}, "denied": set()}
# Per collection: date field, sort field, default count (without find, with find).
COLLECTIONS = {
    "entries": ("date", "date", (10, 10)),
    "treatments": ("created_at", "created_at", (100, 1000)),
    "devicestatus": ("created_at", "created_at", (10, 10)),
    "profile": (None, "startDate", (10, 10)),
}
ENTRY_INT_FIELDS = {"date", "sgv", "mbg", "filtered", "unfiltered", "rssi", "noise"}  # parseInt'd
_FIND = re.compile(r"^find\[(\w+)\](?:\[(\$\w+)\])?$")
_ROUTE = re.compile(r"^/api/v1/(entries|treatments|devicestatus|profile)(?:/(sgv|mbg|cal))?\.json$")


def parse_int(text: str) -> int | None:
    """JavaScript parseInt: the leading integer of `text` ("2024-03-01" -> 2024), None for NaN."""
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else None


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def normalise_iso(text: str) -> str:
    """The server rewrites a non-numeric date value to UTC ISO; a digit-only one stays a string."""
    if text.isdigit():
        return text
    moment = datetime.fromisoformat(text.replace(" ", "+").replace("Z", "+00:00"))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return iso(round(moment.timestamp() * 1000))


@dataclass(frozen=True)
class Fault:
    """What to do instead of a normal answer: another status, another body, or answer late."""

    status: int = 500
    body: bytes | None = None  # served with HTTP 200 when set (e.g. invalid JSON)
    delay_s: float = 0.0  # sleep first, then answer normally (for client timeouts)


@dataclass
class RecordedRequest:
    """One request as the server saw it (the query and headers include any credentials)."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    received_at: float = 0.0  # time.monotonic() when the request arrived
    status: int = 0
    gzipped: bool = False


class FakeNightscout:
    """A Nightscout v1 server on 127.0.0.1 (free port), running in a background thread."""

    def __init__(self, *, entries: Iterable[dict] = (), treatments: Iterable[dict] = (),
                 devicestatus: Iterable[dict] = (), profiles: Iterable[dict] = (),
                 api_secret: str | None = None, tokens: dict[str, str] | None = None,
                 default_role: str = "readable", now_ms: int | None = None) -> None:
        self.documents = {"entries": list(entries), "treatments": list(treatments),
                          "devicestatus": list(devicestatus), "profile": list(profiles)}
        self.api_secret = api_secret
        self.tokens = dict(tokens or {})  # token -> role
        self.default_role = default_role
        self.now_ms = now_ms
        self.requests: list[RecordedRequest] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> FakeNightscout:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def url(self) -> str:
        assert self._server is not None, "use FakeNightscout as a context manager"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- test controls ----------------------------------------------------------------------
    def add_fault(self, path: str, *, times: int = 1, status: int = 500, body: bytes | None = None,
                  delay_s: float = 0.0) -> None:
        """Answer the next `times` requests to `path` with the fault instead."""
        with self._lock:
            self._faults[path].extend([Fault(status, body, delay_s)] * times)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    # -- request handling -------------------------------------------------------------------
    def _begin(self, record: RecordedRequest) -> Fault | None:
        with self._lock:
            self.requests.append(record)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            faults = self._faults.get(record.path)
            return faults.popleft() if faults else None

    def _end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _answer(self, record: RecordedRequest) -> tuple[int, Any]:
        if record.path == "/api/v1/verifyauth":
            return 200, {"status": 200, "message": self._verifyauth(record)}
        route = _ROUTE.match(record.path)
        if not route:
            return 404, {"status": 404, "message": "Not found"}
        if "read" not in self._permissions(record)[0]:
            return 401, UNAUTHORIZED
        collection, entry_type = route.groups()
        return 200, self._query(collection, record.query, entry_type)

    def _permissions(self, record: RecordedRequest) -> tuple[set[str], bool, bool]:
        """(permissions, defaults_used, failed), following lib/authorization `resolve`."""
        secret = record.query.get("secret") or record.headers.get("api-secret")
        role = self.tokens.get(record.query.get("token", ""))  # an unknown token is ignored
        defaults = ROLE_PERMISSIONS[self.default_role]
        if secret:
            if self.api_secret and secret.lower() in (
                hashlib.sha1(self.api_secret.encode()).hexdigest(),
                hashlib.sha512(self.api_secret.encode()).hexdigest(),
            ):
                return ROLE_PERMISSIONS["admin"], False, False
            if secret in self.tokens:  # a raw access token in the api-secret header
                return ROLE_PERMISSIONS[self.tokens[secret]] | defaults, False, False
            return set(), False, True  # failed credentials get no permissions, not the defaults
        if role:
            return ROLE_PERMISSIONS[role] | defaults, False, False
        return defaults, True, False

    def _verifyauth(self, record: RecordedRequest) -> dict[str, Any]:
        permissions, defaults, failed = self._permissions(record)
        can_read = "read" in permissions
        return {"canRead": can_read, "canWrite": "write" in permissions, "isAdmin": "admin" in permissions,
                "message": "OK" if can_read and not defaults else "UNAUTHORIZED",
                "rolefound": "FOUND" if not (defaults or failed) else "NOTFOUND",
                "permissions": "DEFAULT" if defaults else "ROLE"}

    def _query(self, collection: str, query: dict[str, str], entry_type: str | None) -> list[dict]:
        date_field, sort_field, (count_plain, count_find) = COLLECTIONS[collection]
        conditions: list[tuple[str, str | None, Any]] = []
        for key, value in query.items():
            match = _FIND.match(key)
            if match:
                conditions.append((match.group(1), match.group(2), self._value(collection, match[1], value)))
        if entry_type:
            conditions.append(("type", None, entry_type))
        default_count = count_find if conditions else count_plain
        has_date = any(field in (date_field, "dateString") for field, _, _ in conditions)
        if date_field and not has_date:  # the hidden 4-day window
            now_ms = self.now_ms if self.now_ms is not None else int(time.time() * 1000)
            since = now_ms - 4 * DAY_MS
            conditions.append((date_field, "$gte", since if date_field == "date" else iso(since)))
        found = [d for d in self.documents[collection]
                 if all(_matches(d.get(f), op, v) for f, op, v in conditions)]
        missing = 0 if collection == "entries" else ""
        found.sort(key=lambda d: d.get(sort_field) or missing, reverse=True)
        count = parse_int(query["count"]) if "count" in query else default_count
        found = found[: max(count or 0, 0)]
        if collection == "treatments":  # the v1 GET coerces these with Number(): missing -> null
            found = [{**d, "carbs": d.get("carbs"), "insulin": d.get("insulin")} for d in found]
        return found

    @staticmethod
    def _value(collection: str, field: str, value: str) -> Any:
        if collection == "entries" and field in ENTRY_INT_FIELDS:
            return parse_int(value)
        if collection in ("treatments", "devicestatus") and field == "created_at":
            return normalise_iso(value)
        return value


def _matches(actual: Any, op: str | None, wanted: Any) -> bool:
    """Mongo comparison: values of different kinds (number vs string) never match a range."""
    if op in (None, "$eq"):
        return actual == wanted
    if op == "$ne":
        return actual != wanted
    if actual is None or wanted is None or isinstance(actual, str) != isinstance(wanted, str):
        return False
    return {"$gte": actual >= wanted, "$gt": actual > wanted, "$lte": actual <= wanted,
            "$lt": actual < wanted}.get(op, False)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Express behind a real proxy

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        fake: FakeNightscout = self.server.fake  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        record = RecordedRequest(parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                                 {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
        fault = fake._begin(record)
        try:
            if fault and fault.delay_s:
                time.sleep(fault.delay_s)
            if fault and not fault.delay_s:
                status, body, ctype = (
                    (200, fault.body, "text/html") if fault.body is not None
                    else (fault.status, orjson.dumps({"status": fault.status}), "application/json"))
            else:
                try:
                    status, payload = fake._answer(record)
                except Exception:  # noqa: BLE001 - like Express: a failing route is a 500
                    status, payload = 500, {"status": 500, "message": "Internal Server Error"}
                body, ctype = orjson.dumps(payload), "application/json"
            record.status = status
            record.gzipped = "gzip" in record.headers.get("accept-encoding", "")
            if record.gzipped:
                body = gzip.compress(body, compresslevel=1)
        finally:
            fake._end()  # before writing: once the answer leaves, the client may send the next one
        self.send_response(status)
        self.send_header("Content-Type", f"{ctype}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if record.gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
        pass
