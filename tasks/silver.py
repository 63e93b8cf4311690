"""tasks.silver: one task per silver table (partitions: subject x UTC window day).

A silver partition reads its bronze window day and one day either side, so that a reading and
its duplicate from another uploader across midnight meet (lake.lineage: reach 1).
"""

from __future__ import annotations

import ibis.expr.types as ir

from lake.transforms.silver.carb_intakes import carb_intakes
from lake.transforms.silver.device_status import device_status
from lake.transforms.silver.glucose_readings import glucose_readings
from lake.transforms.silver.insulin_boluses import insulin_boluses
from lake.transforms.silver.sensor_errors import sensor_errors
from tasks import bronze
from tasks.tables import TableTask


class SilverTask(TableTask):
    reach = 1
    margin = 1
    upstream: type[TableTask]

    def requires(self):
        return self.upstream(start=self.start, end=self.end)

    def context(self, stale) -> ir.Table:
        t = self.read(self.upstream.table)
        return t.semi_join(self.partition_filter(stale, widen=1), ["subject_id", "window_day"])

    def own(self, result: ir.Table, stale) -> ir.Table:
        return result.semi_join(self.partition_filter(stale), ["subject_id", "window_day"])


class BuildGlucoseReadings(SilverTask):
    table = "silver.glucose_readings"
    version = "2"  # 2: a reading gives way to any better-ranked device's, not only the primary's
    upstream = bronze.BuildBronzeEntries

    def build(self, stale):
        return self.own(glucose_readings(self.context(stale)), stale)


class BuildSensorErrors(SilverTask):
    table = "silver.sensor_errors"
    version = "2"  # 2: a value below 39 with a fraction has no (rounded) error code; sgv_value
    upstream = bronze.BuildBronzeEntries

    def build(self, stale):
        return self.own(sensor_errors(self.context(stale)), stale)


class BuildInsulinBoluses(SilverTask):
    table = "silver.insulin_boluses"
    version = "2"  # 2: copies within a minute of each other, not within one calendar minute
    upstream = bronze.BuildBronzeTreatments

    def build(self, stale):
        return self.own(insulin_boluses(self.context(stale)), stale)


class BuildCarbIntakes(SilverTask):
    table = "silver.carb_intakes"
    version = "2"  # 2: copies within a minute of each other, not within one calendar minute
    upstream = bronze.BuildBronzeTreatments

    def build(self, stale):
        return self.own(carb_intakes(self.context(stale)), stale)


class BuildDeviceStatus(SilverTask):
    table = "silver.device_status"
    upstream = bronze.BuildBronzeDevicestatus

    def build(self, stale):
        return self.own(device_status(self.context(stale)), stale)


TASKS = [BuildGlucoseReadings, BuildSensorErrors, BuildInsulinBoluses, BuildCarbIntakes, BuildDeviceStatus]
