"""tasks.ingest: land Nightscout documents in raw, a group of subjects and a range of UTC days a task.

Granularity, by measurement: a dlt run costs about 1.5-3 s whatever its size, so one task per
subject-day would make a one-year backfill of 50 subjects take hours. A task takes a group of
subjects (`[ingest] subjects_per_task`, default 10) and all the days asked for, streamed through one
dlt run; groups give parallel workers something to share.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import luigi

from lake import ingest
from lake.sources import sources_for
from tasks.base import LakeTask, settings


class IngestConfig(luigi.Config):
    """`[ingest]` in luigi.cfg."""

    @classmethod
    def get_task_family(cls) -> str:
        return "ingest"  # the luigi.cfg section name
    subjects_per_task = luigi.IntParameter(default=10)
    # Days younger than this when fetched are provisional: uploads arrive late, so they are read
    # again once their last fetch is older than `refresh_minutes`.
    overlap_hours = luigi.IntParameter(default=48)
    refresh_minutes = luigi.IntParameter(default=30)


def utc_days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


class IngestNightscout(LakeTask):
    """raw.entries/treatments/devicestatus/profile for `subjects` over UTC days [start, end]."""

    subjects = luigi.ListParameter()
    start = luigi.DateParameter()
    end = luigi.DateParameter()

    def pending_days(self) -> list[date]:
        """UTC days of the range that some subject still needs: never fetched, or provisional
        (fetched before the day was `overlap_hours` old) and last fetched `refresh_minutes` ago."""
        config = IngestConfig()
        now = datetime.now(UTC)
        days = utc_days(self.start, min(self.end, now.date()))
        if not days:
            return []
        fetched = ingest.last_fetched(self.lake, list(self.subjects), days[0], days[-1])
        # What this very task fetched counts as fresh, whatever refresh_minutes says.
        since = min(now - timedelta(minutes=config.refresh_minutes), getattr(self, "_run_started", now))
        overlap = timedelta(hours=config.overlap_hours)
        pending = set()
        for subject in self.subjects:
            for day in days:
                last = fetched.get((subject, day))
                if last is None or (last < ingest.day_bounds(day)[1] + overlap and last < since):
                    pending.add(day)
        return sorted(pending)

    def is_complete(self) -> bool:
        return not self.pending_days()

    def run(self) -> None:
        self.forget_completion()
        self._run_started = datetime.now(UTC)
        days = self.pending_days()
        by_subject = {s.subject: s for s in sources_for(settings())}
        unknown = [s for s in self.subjects if s not in by_subject]
        if unknown:
            raise ValueError(f"unknown subject(s) {unknown}: configured are {sorted(by_subject)}")
        self.progress(0, 1, f"fetching {len(days)} days of {', '.join(self.subjects)}")
        batch = ingest.ingest(settings(), self.lake, [by_subject[s] for s in self.subjects], days,
                              progress=self.progress, marker=self.marker({"days": [str(d) for d in days]}))
        self.forget_completion()
        self.progress(1, 1, f"{batch.total('entries')} entries, {batch.total('treatments')} treatments, "
                            f"{batch.total('devicestatus')} devicestatus landed")


def ingest_tasks(start: date, end: date) -> list[IngestNightscout]:
    """The ingestion tasks covering every configured subject over UTC days [start, end]."""
    subjects = sorted(s.subject for s in sources_for(settings()))
    size = max(1, IngestConfig().subjects_per_task)
    return [IngestNightscout(subjects=subjects[i:i + size], start=start, end=end)
            for i in range(0, len(subjects), size)]


class IngestAll(luigi.WrapperTask):
    """Every configured subject over UTC days [start, end] (a backfill over any range)."""

    start = luigi.DateParameter()
    end = luigi.DateParameter()

    def requires(self):
        return ingest_tasks(self.start, self.end)
