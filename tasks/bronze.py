"""tasks.bronze: one task per bronze table (partitions: subject x UTC window day)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from lake import catalog, lineage
from lake.ingest import RAW_SCHEMA
from lake.lineage import Partition
from lake.transforms.bronze.devicestatus import devicestatus
from lake.transforms.bronze.entries import entries
from lake.transforms.bronze.profile import profile
from lake.transforms.bronze.quarantine import quarantine
from lake.transforms.bronze.treatments import treatments
from tasks.tables import TableTask, ingest_for


class BronzeTask(TableTask):
    version = "2"  # 2: timestamps before 2000 go to the quarantine
    margin = 2  # silver reads bronze one day either side of its own (see tasks.tables)

    def requires(self):
        return ingest_for(self)

    def raw(self, resource: str, stale: list[Partition]) -> ir.Table:
        if not catalog.table_exists(self.lake, f"raw.{resource}"):  # a site that never sent any
            return ibis.memtable(RAW_SCHEMA.empty_table())
        t = self.read(f"raw.{resource}")
        if resource == "profile":  # profiles are not windowed: every committed one counts
            return t.semi_join(self.partition_filter(stale).select("subject_id").distinct(), "subject_id")
        return t.semi_join(self.partition_filter(stale), ["subject_id", "window_day"])

    def batches(self) -> ir.Table:
        return self.read("meta.ingest_batches")


class BuildBronzeEntries(BronzeTask):
    table = "bronze.entries"
    version = "3"  # 3: a text time before 2000 gives way to the next plausible one; offset from dateString

    def build(self, stale):
        return entries(self.raw("entries", stale), self.batches())


class BuildBronzeTreatments(BronzeTask):
    table = "bronze.treatments"
    version = "3"  # 3: a created_at before 2000 gives way to timestamp; durationInMilliseconds; offset

    def build(self, stale):
        return treatments(self.raw("treatments", stale), self.batches())


class BuildBronzeDevicestatus(BronzeTask):
    table = "bronze.devicestatus"
    version = "3"  # 3: COB from openaps.enacted when openaps.suggested has none

    def build(self, stale):
        return devicestatus(self.raw("devicestatus", stale), self.batches())


class BuildBronzeQuarantine(BronzeTask):
    """bronze.quarantine: the documents the other bronze tables of the same partitions did not type."""

    table = "bronze.quarantine"
    typed_by = {"entries": BuildBronzeEntries, "treatments": BuildBronzeTreatments,
                "devicestatus": BuildBronzeDevicestatus}

    def requires(self):
        return [ingest_for(self), *(cls(start=self.start, end=self.end) for cls in self.typed_by.values())]

    def build(self, stale):
        return quarantine({r: self.raw(r, stale) for r in self.typed_by}, self.batches(),
                          {r: self.typed(cls.table, stale) for r, cls in self.typed_by.items()})

    def typed(self, table: str, stale: list[Partition]) -> ir.Table:
        if not catalog.table_exists(self.lake, table):  # nothing typed (yet): every raw row is typed again
            return ibis.memtable(pa.table({"subject_id": pa.array([], pa.string()),
                                           "doc_id": pa.array([], pa.string())}))
        return self.read(table).semi_join(self.partition_filter(stale), ["subject_id", "window_day"])


TASKS = [BuildBronzeEntries, BuildBronzeTreatments, BuildBronzeDevicestatus, BuildBronzeQuarantine]


class BuildBronzeProfile(BronzeTask):
    """bronze.profile: one partition per subject, rebuilt when the subject's profiles change.

    Profiles are not fetched per day (the endpoint has no time filter), so their lineage is their
    own content rather than raw day versions.
    """

    table = "bronze.profile"
    version = "2"
    day_column = None

    def keys(self) -> list[str]:
        return ["subject_id"]

    def partitions(self) -> list[Partition]:
        return [Partition(s, "profile", ()) for s in self.subjects()]

    def stale(self) -> dict[Partition, str]:
        return lineage.stale_profiles(self.lake, self.table, self.code_version(), self.partitions())

    def partition_rows(self, stale: list[Partition]) -> pa.Table:
        return pa.table({"subject_id": [p.subject_id for p in stale]})

    def build(self, stale):
        subjects = ibis.memtable(pa.table({"subject_id": [p.subject_id for p in stale]}))
        return profile(self.read("raw.profile").semi_join(subjects, "subject_id"), self.batches())


TASKS.append(BuildBronzeProfile)
