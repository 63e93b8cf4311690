"""lake.sources.simulated: deterministic demo Nightscout sites, the source when none is configured.

`simulated_sources()` gives three subjects (demo-ana, demo-ben, demo-cleo; see `personas`) whose
documents look exactly like the v1 API's. Generation is a pure function of (subject, window):
documents are made per UTC day from generators seeded by (subject, day) and cut to the window,
so re-reading a day, or reading it in pieces, gives identical documents. Like a real site, a
site never returns documents from the future: windows are cut at the moment of the call
(`now`, a constructor argument so tests can pin it).

Documents are generated as JSON text (`serialized`, what ingestion lands); the dict methods of
the DocumentSource interface decode that text, so both views are always the same documents.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from lake.sources import Document
from lake.sources.simulated.common import DAY_MS, DAY_TABLE
from lake.sources.simulated.devicestatus import devicestatus_for_day, profile_document
from lake.sources.simulated.entries import entries_for_day
from lake.sources.simulated.personas import DEMO_PERSONAS, Persona, persona_for
from lake.sources.simulated.treatments import treatments_for_day

__all__ = ["SimulatedSource", "documents_for_fake_server", "simulated_sources"]

DayGenerator = Callable[[str, Persona, int], pa.Table]
_GENERATORS: dict[str, DayGenerator] = {
    "entries": entries_for_day, "treatments": treatments_for_day, "devicestatus": devicestatus_for_day,
}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_ms(moment: datetime, name: str) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime (UTC), got a naive {moment}")
    return (moment - _EPOCH) // timedelta(milliseconds=1)


class SimulatedSource:
    """A simulated Nightscout site for `subject` (a DocumentSource); its persona by default
    follows the subject name (see `personas.persona_for`)."""

    def __init__(self, subject: str, persona: Persona | None = None, now: datetime | None = None) -> None:
        self.subject = subject
        self.persona = persona or persona_for(subject)
        self._now = now

    def __repr__(self) -> str:
        return f"SimulatedSource(subject={self.subject!r}, persona={self.persona.name!r})"

    def verify(self) -> None:
        """Nothing to check: there are no credentials and no network."""

    def entries(self, start_ms: int, end_ms: int) -> list[Document]:
        return _decoded(self.serialized("entries", start_ms, end_ms))

    def treatments(self, start: datetime, end: datetime) -> list[Document]:
        return _decoded(self.serialized("treatments", _epoch_ms(start, "start"), _epoch_ms(end, "end")))

    def devicestatus(self, start: datetime, end: datetime) -> list[Document]:
        return _decoded(self.serialized("devicestatus", _epoch_ms(start, "start"), _epoch_ms(end, "end")))

    def profiles(self) -> list[Document]:
        return [profile_document(self.subject, self.persona)]

    def serialized(self, collection: str, start_ms: int, end_ms: int) -> pa.Table:
        """The documents with start_ms <= moment < end_ms, newest first, generated a UTC day at a time."""
        if collection not in _GENERATORS:
            raise ValueError(f"unknown collection {collection!r}: {', '.join(_GENERATORS)}")
        generate, lo, hi = _GENERATORS[collection], int(start_ms), int(end_ms)
        if hi < lo:
            raise ValueError("the window ends before it starts")
        hi = min(hi, _epoch_ms(self._now or datetime.now(UTC), "now") + 1)
        days = []
        for day in range((hi - 1) // DAY_MS, lo // DAY_MS - 1, -1) if hi > lo else ():
            table = generate(self.subject, self.persona, day)
            if lo > day * DAY_MS or hi < (day + 1) * DAY_MS:  # a partial day: cut it
                moment = table.column("moment_ms")
                table = table.filter(pc.and_(pc.greater_equal(moment, lo), pc.less(moment, hi)))
            days.append(table)
        return pa.concat_tables(days or [DAY_TABLE.empty_table()]).drop_columns(["moment_ms"])


def _decoded(documents: pa.Table) -> list[Document]:
    return [orjson.loads(text) for text in documents.column("document").to_pylist()]


def simulated_sources() -> list[SimulatedSource]:
    """The three demo sites: demo-ana, demo-ben and demo-cleo."""
    return [SimulatedSource(subject) for subject in DEMO_PERSONAS]


def documents_for_fake_server(subject: str, start_day: datetime, end_day: datetime) -> dict[str, list[dict]]:
    """A simulated subject's documents for [start_day, end_day), as keyword arguments for
    `tests.fake_nightscout.FakeNightscout` (entries, treatments, devicestatus, profiles)."""
    source = SimulatedSource(subject)
    lo = _epoch_ms(start_day, "start_day")
    hi = _epoch_ms(end_day, "end_day")
    return {
        "entries": source.entries(lo, hi),
        "treatments": source.treatments(start_day, end_day),
        "devicestatus": source.devicestatus(start_day, end_day),
        "profiles": source.profiles(),
    }

