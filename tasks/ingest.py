"""tasks.ingest: land Nightscout documents in raw, a group of subjects and a range of UTC days a task.

Granularity, by measurement: a dlt run costs about 1.5 s whatever its size, so one task per
subject-day would make a one-year backfill of 50 subjects take hours. A task takes a group of
subjects (`[ingest] subjects_per_task`, default 10) and all the days asked for, streamed through one
dlt run; groups give parallel workers something to share. When little is left to fetch (at most
`[ingest] small_load_subject_days` subject-days, as in a daily run) every subject goes in one task:
a daily run of 50 subjects then pays for one dlt run instead of five.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import luigi

from lake import ingest
from lake.sources import sources_for
from tasks.base import LakeTask, check_period, lake_connection, settings


class IngestConfig(luigi.Config):
    """`[ingest]` in luigi.cfg."""

    @classmethod
    def get_task_family(cls) -> str:
        return "ingest"  # the luigi.cfg section name
    subjects_per_task = luigi.IntParameter(default=10)
    small_load_subject_days = luigi.IntParameter(default=400)
    # Days younger than this when fetched are provisional: uploads arrive late, so they are read
    # again once their last fetch is older than `refresh_minutes`.
    overlap_hours = luigi.IntParameter(default=48)
    refresh_minutes = luigi.IntParameter(default=30)


class IngestNightscout(LakeTask):
    """raw.entries/treatments/devicestatus/profile for `subjects` over UTC days [start, end]."""

    subjects = luigi.ListParameter()
    start = luigi.DateParameter()
    end = luigi.DateParameter()

    # While Luigi plans a daily run, every table asks (through its upstream tables) whether this
    # ingestion is done: 22 times, 15 ms each, before it has run. A "no" is kept for a few seconds
    # in the asking process (LakeTask.complete). Should another process ingest those days
    # meanwhile, this task runs, finds nothing left to fetch and writes nothing.
    INCOMPLETE_MEMO_S = 5.0

    def pending_days(self) -> list[date]:
        """UTC days of the range that some subject still needs (see `pending_subject_days`); what
        this very task fetched counts as fresh, whatever `refresh_minutes` says."""
        pending = pending_subject_days(self.lake, list(self.subjects), self.start, self.end,
                                       fetched_since=self._started_at)
        return sorted({day for days in pending.values() for day in days})

    def is_complete(self) -> bool:
        return not self.pending_days()

    def run(self) -> None:
        self.forget_completion()
        self._started_at = datetime.now(UTC)  # also when run() is called without Luigi's START event
        days = self.pending_days()
        by_subject = {s.subject: s for s in sources_for(settings())}
        unknown = [s for s in self.subjects if s not in by_subject]
        if unknown:
            raise ValueError(f"unknown subject(s) {unknown}: configured are {sorted(by_subject)}")
        self.progress(0, 1, f"fetching {len(days)} days of {', '.join(self.subjects)}")
        batch = ingest.ingest(settings(), self.lake, [by_subject[s] for s in self.subjects], days,
                              progress=self.progress, marker=self.marker({"days": [str(d) for d in days]}))
        self.remember_completion()
        self.progress(1, 1, f"{batch.total('entries')} entries, {batch.total('treatments')} treatments, "
                            f"{batch.total('devicestatus')} devicestatus landed")


def pending_subject_days(lake, subjects: list[str], start: date, end: date, *,
                         fetched_since: datetime | None = None) -> dict[str, list[date]]:
    """Per subject, the UTC days of [start, end] (up to today) it still needs: never fetched, or
    provisional (fetched before the day was `overlap_hours` old) and last fetched `refresh_minutes`
    ago, or before `fetched_since`."""
    config = IngestConfig()
    now = datetime.now(UTC)
    since = min(now - timedelta(minutes=config.refresh_minutes), fetched_since or now)
    return ingest.days_to_fetch(lake, subjects, start, min(end, now.date()),
                                overlap=timedelta(hours=config.overlap_hours), fresh_since=since)


def ingest_tasks(start: date, end: date) -> list[IngestNightscout]:
    """The ingestion tasks covering every configured subject over UTC days [start, end]."""
    config = IngestConfig()
    subjects = sorted(s.subject for s in sources_for(settings()))
    size = max(1, config.subjects_per_task)
    if len(subjects) > size:
        pending = pending_subject_days(lake_connection(), subjects, start, end)
        if sum(len(days) for days in pending.values()) <= config.small_load_subject_days:
            size = len(subjects)
    return [IngestNightscout(subjects=subjects[i:i + size], start=start, end=end)
            for i in range(0, len(subjects), size)]


class IngestAll(luigi.WrapperTask):
    """Every configured subject over UTC days [start, end] (a backfill over any range)."""

    start = luigi.DateParameter()
    end = luigi.DateParameter()

    def requires(self):
        check_period(self.start, self.end)
        # Grouped once per instance (Luigi shares one per range): Luigi asks again and again, each
        # answer costs a lake query, and the group must not change once scheduled.
        if not hasattr(self, "_tasks"):
            self._tasks = ingest_tasks(self.start, self.end)
        return self._tasks
