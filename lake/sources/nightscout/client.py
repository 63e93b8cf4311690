"""lake.sources.nightscout.client: `NightscoutSource`, a DocumentSource reading a live site (API v1).

Paging follows the reference (`nightscout-api.md` §2.3): fixed half-open windows on the
collection's date field with a `count` far above what a window can hold; a window answered with
exactly `count` documents may have been cut, so it is split in two and both halves are re-read.
Entries filter on `date` in epoch ms (the server `parseInt`s it); treatments and devicestatus on
`created_at` as ISO strings (the server compares them as strings, so epoch ms would be wrong).
Every query carries an explicit lower bound, which also disables the server's hidden 4-day window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from lake.config import Site
from lake.sources import Document, serialize
from lake.sources.nightscout import settings
from lake.sources.nightscout.errors import NightscoutAuthError, NightscoutError
from lake.sources.nightscout.transport import SiteChannel

log = logging.getLogger(__name__)


def _iso(ms: int) -> str:
    """Epoch ms as the UTC ISO string Nightscout stores (`2024-03-01T00:00:00.000Z`)."""
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def _label_time(ms: int) -> str:
    """A short, exact UTC label for error messages: minutes unless seconds or ms are set."""
    text = _iso(ms)
    if text.endswith(":00.000Z"):
        return text[:-8] + "Z"
    return text[:-5] + "Z" if text.endswith(".000Z") else text


@dataclass(frozen=True)
class _Collection:
    """How one collection is filtered on its date field."""

    name: str
    path: str
    field: str
    count: int
    bound: Callable[[int], str]  # epoch ms -> the query value


_ENTRIES = _Collection("entries", settings.ENTRIES_PATH, "date", settings.ENTRIES_COUNT, str)
_TREATMENTS = _Collection(
    "treatments", settings.TREATMENTS_PATH, "created_at", settings.TREATMENTS_COUNT, _iso
)
_DEVICESTATUS = _Collection(
    "devicestatus", settings.DEVICESTATUS_PATH, "created_at", settings.DEVICESTATUS_COUNT, _iso
)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_ms(moment: datetime, name: str) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime (UTC), got a naive {moment}")
    return (moment - _EPOCH) // timedelta(milliseconds=1)  # exact, unlike float timestamp()


class NightscoutSource:
    """The documents of one Nightscout site, read through its v1 API.

    Args:
        site: the site, its subject and its credentials (token or API secret).
        pause_s: pause between two requests to the site.
        timeout_s: connect and read timeout of one request.
        max_attempts: attempts per request on 5xx, 429, connection errors and timeouts.
        backoff_s: first backoff sleep; it doubles with each further attempt.
        count: the `count` sent with every window (default: per collection, see settings);
            a window answered with this many documents is split in two and re-read.
    """

    def __init__(self, site: Site, *, pause_s: float = settings.DEFAULT_PAUSE_S,
                 timeout_s: float = settings.DEFAULT_TIMEOUT_S,
                 max_attempts: int = settings.DEFAULT_MAX_ATTEMPTS,
                 backoff_s: float = settings.DEFAULT_BACKOFF_S, count: int | None = None) -> None:
        self.site = site
        self.subject = site.subject
        self._count = count
        self._channel = SiteChannel(site, pause_s=pause_s, timeout_s=timeout_s, max_attempts=max_attempts,
                                    backoff_s=backoff_s)

    def __repr__(self) -> str:
        return f"NightscoutSource(subject={self.subject!r}, url={self.site.url!r})"

    def verify(self) -> None:
        """Check the credentials once with /api/v1/verifyauth; raise NightscoutAuthError if they fail.

        Needed because an unknown `?token=` is silently ignored on a world-readable site: reads
        would succeed with anonymous rights, and fail later or miss data. Never retried.
        """
        body = self._channel.get_json(settings.VERIFYAUTH_PATH, {}, what="verifyauth")
        problem = _verifyauth_problem(body, self._credential_name())
        if problem:
            raise NightscoutAuthError(f"{self._channel.where('verifyauth')}: {problem}")

    def entries(self, start_ms: int, end_ms: int) -> list[Document]:
        return self._read(_ENTRIES, int(start_ms), int(end_ms))

    def treatments(self, start: datetime, end: datetime) -> list[Document]:
        return self._read(_TREATMENTS, _epoch_ms(start, "start"), _epoch_ms(end, "end"))

    def devicestatus(self, start: datetime, end: datetime) -> list[Document]:
        return self._devicestatus(_epoch_ms(start, "start"), _epoch_ms(end, "end"))

    def _devicestatus(self, lo: int, hi: int) -> list[Document]:
        """Devicestatus in requests of at most 6 h each (the documents are large), newest first."""
        documents: list[Document] = []
        chunk_end = hi
        while chunk_end > lo:
            chunk_start = max(lo, chunk_end - settings.DEVICESTATUS_MAX_WINDOW_MS)
            documents.extend(self._read(_DEVICESTATUS, chunk_start, chunk_end))
            chunk_end = chunk_start
        return documents

    def profiles(self) -> list[Document]:
        documents = self._channel.get_documents(
            settings.PROFILE_PATH, {"count": str(settings.PROFILE_COUNT)}, what="profile"
        )
        if len(documents) >= settings.PROFILE_COUNT:
            log.warning("%s: %d profile documents, the oldest may be missing",
                        self._channel.where("profile"), len(documents))
        return documents

    def serialized(self, collection: str, start_ms: int, end_ms: int) -> pa.Table:
        lo, hi = int(start_ms), int(end_ms)
        match collection:
            case "entries":
                return serialize(self._read(_ENTRIES, lo, hi))
            case "treatments":
                return serialize(self._read(_TREATMENTS, lo, hi))
            case "devicestatus":
                return serialize(self._devicestatus(lo, hi))
        raise ValueError(f"unknown collection {collection!r}: entries, treatments or devicestatus")

    def _read(self, collection: _Collection, lo: int, hi: int) -> list[Document]:
        """Documents with lo <= field < hi, newest first; full windows are split and re-read."""
        if hi < lo:
            raise ValueError(f"{collection.name}: the window ends before it starts")
        if hi == lo:
            return []
        count = self._count or collection.count
        what = f"{collection.name} {_label_time(lo)}..{_label_time(hi)}"
        params = {
            f"find[{collection.field}][$gte]": collection.bound(lo),
            f"find[{collection.field}][$lt]": collection.bound(hi),
            "count": str(count),
        }
        documents = self._channel.get_documents(collection.path, params, what=what)
        if len(documents) < count:
            log.debug("%s: %d documents", self._channel.where(what), len(documents))
            return documents
        if hi - lo <= 1:
            raise NightscoutError(f"{self._channel.where(what)}: {count} or more documents in 1 ms")
        log.info("%s: %d documents fill the page, splitting the window", self._channel.where(what), count)
        middle = lo + (hi - lo) // 2
        # Newer half first, so the result stays newest first like every API response.
        return self._read(collection, middle, hi) + self._read(collection, lo, middle)

    def _credential_name(self) -> str | None:
        if self.site.api_secret is not None:
            return "API secret"
        return "token" if self.site.token is not None else None


def _verifyauth_problem(body: Any, credential: str | None) -> str | None:
    """Why a /verifyauth answer means the source cannot read, or None when it can.

    15.x answers HTTP 200 with `message: {canRead, message: OK|UNAUTHORIZED, permissions:
    DEFAULT|ROLE, ...}`; `permissions: DEFAULT` means no credential was recognised (an unknown
    token is ignored). Older servers answer `message: "OK"` only for admin-equivalent credentials,
    so there only an API secret can be confirmed; a read-only token is accepted unchecked.
    """
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, dict):
        if not message.get("canRead"):
            if credential:
                return f"the {credential} was rejected: it cannot read this site"
            return "the site is not world-readable: configure an access token"
        if credential and message.get("permissions") == "DEFAULT":
            return f"the {credential} is not recognised (the site answered with its anonymous defaults)"
        return None
    if message == "OK" or credential != "API secret":
        return None
    return "the API secret was rejected"
