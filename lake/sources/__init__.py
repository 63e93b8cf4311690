"""lake.sources: the one interface every Nightscout-shaped document source implements.

A source belongs to one subject (one person, one Nightscout site) and hands out that site's
documents for half-open time windows, exactly as the Nightscout v1 API returns them: plain dicts
decoded from JSON, newest first, never renamed, typed or cleaned. Typing and cleaning happen
downstream (bronze, silver), so raw keeps what the site really sent.

Two implementations exist: `lake.sources.nightscout.NightscoutSource` (a live site over HTTP) and
`lake.sources.simulated.SimulatedSource` (deterministic demo sites, the default when no site is
configured). `sources_for(settings)` picks between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pyarrow as pa

    from lake.config import Settings

Document = dict[str, Any]
WINDOWED = ("entries", "treatments", "devicestatus")  # the collections read in time windows


@runtime_checkable
class DocumentSource(Protocol):
    """The documents of one subject's Nightscout site, read window by window."""

    subject: str

    def verify(self) -> None:
        """Check up front that the source can be read (credentials, reachability); raise if not."""
        ...

    def entries(self, start_ms: int, end_ms: int) -> list[Document]:
        """Entries (sgv, mbg, cal, ...) with `start_ms <= date < end_ms` (epoch milliseconds)."""
        ...

    def treatments(self, start: datetime, end: datetime) -> list[Document]:
        """Treatments with `start <= created_at < end`; both bounds timezone-aware (UTC)."""
        ...

    def devicestatus(self, start: datetime, end: datetime) -> list[Document]:
        """Devicestatus documents with `start <= created_at < end`; bounds timezone-aware (UTC)."""
        ...

    def profiles(self) -> list[Document]:
        """Every profile document of the site (the profile endpoint has no time filter)."""
        ...

    def serialized(self, collection: str, start_ms: int, end_ms: int) -> pa.Table:
        """One window of a WINDOWED collection as ingestion lands it: `serialize`'s columns, one
        row per document, newest first (entries by `date`, the others by `created_at`)."""
        ...


def serialize(documents: Sequence[Document]) -> pa.Table:
    """Documents as raw keeps them: `doc_id` (the `_id` as text, null when missing) and `document`
    (the document's compact JSON text, keys in the order the site sent them)."""
    import orjson
    import pyarrow as pa

    return pa.table({
        "doc_id": pa.array([_doc_id(doc) for doc in documents], pa.string()),
        # bytes -> UTF-8 string in Arrow, without decoding each document in Python
        "document": pa.array([orjson.dumps(doc) for doc in documents], pa.binary()).cast(pa.string()),
    })


def _doc_id(doc: Document) -> str | None:
    value = doc.get("_id") if isinstance(doc, dict) else None
    return value if isinstance(value, str) or value is None else str(value)


def sources_for(settings: Settings) -> list[DocumentSource]:
    """One source per configured site, or the simulated demo sites when none is configured."""
    # Imported here so that importing the interface never pulls in HTTP or numpy code.
    if settings.uses_simulated_sites:
        from lake.sources.simulated import simulated_sources

        return simulated_sources()
    from lake.sources.nightscout import NightscoutSource

    return [NightscoutSource(site, pause_s=settings.request_pause_s) for site in settings.sites]
