"""tasks.tables: the base task that rebuilds the out-of-date partitions of one lake table.

A table task declares its table, its partition keys, how far back and forth in raw days a
partition can see (`reach`), its upstream tasks, and `build(stale)`: the Ibis expression of the
rows of the stale partitions (a call of the table's pure transform on filtered inputs). The base
class finds the stale partitions (lake.lineage), and publishes the new rows, the partitions'
signatures, the check results and its Luigi marker in ONE DuckLake snapshot
(catalog.replace_partitions): a crash leaves the table as it was, and a task whose inputs changed
since is not complete.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

import ibis
import ibis.expr.types as ir
import luigi
import pyarrow as pa

from lake import catalog, checks, lineage
from lake.sources import sources_for
from lake.config import default_period
from tasks.base import LakeTask, check_period, settings
from tasks.ingest import IngestAll


def default_start() -> date:
    return default_period()[0]


def default_end() -> date:
    return default_period()[1]


class Period(luigi.Config):
    """Parameters of every task over local calendar days [start, end]: by default the 14 days
    ending yesterday (DESIGN's Luigi contract)."""

    start = luigi.DateParameter(default=default_start(), description="first local day (inclusive)")
    end = luigi.DateParameter(default=default_end(), description="last local day (inclusive)")


class PeriodTask(LakeTask):
    """A task over the local calendar days [start, end] (DESIGN's Luigi contract)."""

    start = Period.start
    end = Period.end

    def subjects(self) -> list[str]:
        return sorted(s.subject for s in sources_for(settings()))


class TableTask(PeriodTask):
    table: ClassVar[str]
    version: ClassVar[str] = "1"  # bump when the transform changes: its partitions and all downstream rebuild
    day_column: ClassVar[str | None] = "window_day"  # None: one partition per subject and period
    reach: ClassVar[int] = 0  # raw UTC days on each side a partition depends on
    margin: ClassVar[int] = 0  # partition days beyond [start, end] this layer must cover

    def part_days(self) -> list[date]:
        return lineage.days(self.start - timedelta(self.margin), self.end + timedelta(self.margin))

    def partitions(self) -> list[lineage.Partition]:
        # Made once per task instance (its subjects and days do not change while it lives):
        # Luigi asks for completion again and again, and lineage's memo then compares the very
        # same partitions instead of equal ones field by field.
        if not hasattr(self, "_partitions"):
            if self.day_column is None:
                self._partitions = lineage.period_partitions(self.subjects(), self.start, self.end, self.reach)
            else:
                self._partitions = lineage.day_partitions(self.subjects(), self.part_days(), self.reach)
        return self._partitions

    def code_version(self) -> str:
        """The version its partitions' signatures carry: its own, then each upstream table's
        (theirs included), so a transform changed upstream also rebuilds what is made from it."""
        if not hasattr(self, "_code_version"):
            upstream = sorted({f"{task.table}={task.code_version()}" for task in luigi.task.flatten(self.requires())
                               if isinstance(task, TableTask)})
            self._code_version = "+".join([self.version, *upstream])
        return self._code_version

    def stale(self) -> dict[lineage.Partition, str]:
        return lineage.stale(self.lake, self.table, self.code_version(), self.partitions())

    def is_complete(self) -> bool:
        check_period(self.start, self.end)
        # Upstream first: Luigi decides what to run before anything runs, so a table whose inputs
        # are about to change must not look complete now.
        if not all(task.complete() for task in luigi.task.flatten(self.requires())):
            return False
        return not self.stale()

    def keys(self) -> list[str]:
        return ["subject_id", self.day_column] if self.day_column else ["subject_id", "period_start", "period_end"]

    def partition_rows(self, stale: list[lineage.Partition]) -> pa.Table:
        subjects = [p.subject_id for p in stale]
        if self.day_column:
            return pa.table({"subject_id": subjects, self.day_column: [date.fromisoformat(p.part) for p in stale]})
        return pa.table({"subject_id": subjects, "period_start": [self.start] * len(stale),
                         "period_end": [self.end] * len(stale)})

    def partition_filter(self, stale: list[lineage.Partition], column: str | None = None, widen: int = 0) -> ir.Table:
        """A memtable of (subject_id, <column>) for the stale partitions, +- `widen` days."""
        rows = [(p.subject_id, date.fromisoformat(p.part) + timedelta(shift))
                for p in stale for shift in range(-widen, widen + 1)]
        column = column or self.day_column
        return ibis.memtable(pa.table({"subject_id": [r[0] for r in rows], column: [r[1] for r in rows]}))

    def read(self, name: str) -> ir.Table:
        return catalog.table(self.lake, name)

    def build(self, stale: list[lineage.Partition]) -> ir.Table:
        raise NotImplementedError

    def run(self) -> None:
        self.forget_completion()
        self.rebuild()
        self.remember_completion()

    def rebuild(self) -> None:
        stale = self.stale()
        parts = list(stale)
        marker = self.marker({"partitions": len(parts)})
        if not parts:  # its inputs are what it was built from: nothing to do but say so
            catalog.in_transaction(self.lake, lambda con: catalog.write_marker(con, marker))
            self.progress(2, 2, f"{self.table}: up to date")
            return
        self.progress(0, 2, f"{self.table}: rebuilding {len(parts)} partition(s)")
        try:
            rows = catalog.replace_partitions(
                self.lake, self.table, self.build(parts), keys=self.keys(), partitions=self.partition_rows(parts),
                built=lineage.built_rows(self.table, stale), marker=marker,
                check=lambda con: checks.run_checks(con, self.table, self.keys(), self.task_id))
        except checks.CheckFailed as failed:
            # The build was rolled back; the failing results are still worth keeping.
            results = failed.results
            catalog.in_transaction(self.lake, lambda con: checks.record(con, results, self.task_id))
            raise
        self.progress(2, 2, f"{self.table}: {len(parts)} partition(s), {rows} rows")


class BuildBronze(luigi.WrapperTask):
    """Every bronze table for the local days [start, end]."""

    start = Period.start
    end = Period.end

    def requires(self):
        from tasks import bronze

        check_period(self.start, self.end)
        return [cls(start=self.start, end=self.end) for cls in bronze.TASKS]


def ingest_for(task: PeriodTask) -> IngestAll:
    """Raw UTC days reaching the period's local days through offsets and de-duplication."""
    return IngestAll(start=task.start - timedelta(2), end=task.end + timedelta(2))

