"""lake.sources.simulated: deterministic demo Nightscout sites, the source when none is configured.

`simulated_sources()` gives three subjects (demo-ana, demo-ben, demo-cleo; see `personas`) whose
documents look exactly like the v1 API's. Generation is a pure function of (subject, window):
documents are made per UTC day from generators seeded by (subject, day) and cut to the window,
so re-reading a day, or reading it in pieces, gives identical documents. Like a real site, a
site never returns documents from the future: windows are cut at the moment of the call
(`now`, a constructor argument so tests can pin it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from lake.sources.simulated.common import DAY_MS
from lake.sources.simulated.devicestatus import devicestatus_for_day, profile_document
from lake.sources.simulated.entries import entries_for_day
from lake.sources.simulated.personas import DEMO_PERSONAS, Persona, persona_for
from lake.sources.simulated.treatments import treatments_for_day

__all__ = ["SimulatedSource", "documents_for_fake_server", "simulated_sources"]

DayGenerator = Callable[[str, Persona, int], list[dict]]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_ms(moment: datetime, name: str) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime (UTC), got a naive {moment}")
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _created_ms(doc: dict) -> int:
    """created_at (always `YYYY-MM-DDTHH:MM:SS.mmmZ` here) as epoch ms, for cutting windows."""
    return _epoch_ms(datetime.fromisoformat(doc["created_at"]), "created_at")


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

    def entries(self, start_ms: int, end_ms: int) -> list[dict]:
        return self._window(entries_for_day, int(start_ms), int(end_ms), lambda doc: doc["date"])

    def treatments(self, start: datetime, end: datetime) -> list[dict]:
        lo, hi = _epoch_ms(start, "start"), _epoch_ms(end, "end")
        return self._window(treatments_for_day, lo, hi, _created_ms)

    def devicestatus(self, start: datetime, end: datetime) -> list[dict]:
        lo, hi = _epoch_ms(start, "start"), _epoch_ms(end, "end")
        return self._window(devicestatus_for_day, lo, hi, _created_ms)

    def profiles(self) -> list[dict]:
        return [profile_document(self.subject, self.persona)]

    def _window(self, generate: DayGenerator, lo: int, hi: int, moment: Callable[[dict], int]) -> list[dict]:
        """The documents with lo <= moment < hi, newest first, generated one UTC day at a time."""
        if hi < lo:
            raise ValueError("the window ends before it starts")
        hi = min(hi, _epoch_ms(self._now or datetime.now(UTC), "now") + 1)
        if hi <= lo:
            return []
        documents: list[dict] = []
        for day in range((hi - 1) // DAY_MS, lo // DAY_MS - 1, -1):
            day_docs = generate(self.subject, self.persona, day)
            if lo > day * DAY_MS or hi < (day + 1) * DAY_MS:  # a partial day: cut it
                day_docs = [doc for doc in day_docs if lo <= moment(doc) < hi]
            documents.extend(day_docs)
        return documents


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

