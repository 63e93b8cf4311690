"""tasks.bronze: one task per bronze table (partitions: subject x UTC window day)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from lake import catalog
from lake.ingest import RAW_SCHEMA
from lake.lineage import Partition
from lake.transforms.bronze.devicestatus import devicestatus
from lake.transforms.bronze.entries import entries
from lake.transforms.bronze.profile import profile
from lake.transforms.bronze.quarantine import quarantine
from lake.transforms.bronze.treatments import treatments
from tasks.tables import TableTask, ingest_for

RAW = ("entries", "treatments", "devicestatus", "profile")


class BronzeTask(TableTask):
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

    def build(self, stale):
        return entries(self.raw("entries", stale), self.batches())


class BuildBronzeTreatments(BronzeTask):
    table = "bronze.treatments"

    def build(self, stale):
        return treatments(self.raw("treatments", stale), self.batches())


class BuildBronzeDevicestatus(BronzeTask):
    table = "bronze.devicestatus"

    def build(self, stale):
        return devicestatus(self.raw("devicestatus", stale), self.batches())


class BuildBronzeQuarantine(BronzeTask):
    table = "bronze.quarantine"

    def build(self, stale):
        return quarantine({r: self.raw(r, stale) for r in RAW if r != "profile"}, self.batches())


TASKS = [BuildBronzeEntries, BuildBronzeTreatments, BuildBronzeDevicestatus, BuildBronzeQuarantine]
