"""tasks.maintenance: `luigi --module tasks MaintainLake` - DuckLake upkeep, at most once a day.

Thin: lake.maintenance does the work (and explains why it is safe beside other work). Settings
live in luigi.cfg:

    [maintenance]
    retention_days = 7      # snapshots older than this are expired (time travel stays possible within it)
    file_grace_hours = 1    # unused files are deleted once unused for longer than this
    delete_threshold = 0    # files whose deleted fraction reaches this are rewritten (0: any)

The worker loop of docker-compose.yml runs it after every BuildGold; it does its work on the first
run of each day (`--day`, default today) and is complete, so skipped, for the rest of that day.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import luigi

from lake import catalog, maintenance
from tasks.base import LakeTask

log = logging.getLogger("luigi-interface")


class MaintenanceConfig(luigi.Config):
    """`[maintenance]` in luigi.cfg."""

    @classmethod
    def get_task_family(cls) -> str:
        return "maintenance"  # the luigi.cfg section name

    retention_days = luigi.FloatParameter(default=maintenance.DEFAULT_RETENTION.days)
    file_grace_hours = luigi.FloatParameter(
        default=maintenance.DEFAULT_FILE_GRACE.total_seconds() / 3600)
    delete_threshold = luigi.FloatParameter(default=maintenance.DEFAULT_DELETE_THRESHOLD)


class MaintainLake(LakeTask):
    """Flush inlined rows, rewrite and merge small files, expire old snapshots, delete unused files.

    Complete once its marker for `day` is in the lake (meta.task_markers); the marker's `inputs`
    record what the run did, so the lake itself tells when maintenance last ran and its effect.
    """

    day = luigi.DateParameter(default=date.today())

    @property
    def resources(self) -> dict[str, int]:  # type: ignore[override]
        # Like every writer (lake_writer on SQLite catalogs), and never two maintenance runs at once.
        return {**super().resources, "lake_maintenance": 1}

    def complete(self) -> bool:
        return catalog.marker_exists(self.lake, self.task_id)

    def run(self) -> None:
        config = MaintenanceConfig()
        self.progress(0, 1, "maintaining the lake")
        result = maintenance.maintain(self.lake, retention=timedelta(days=config.retention_days),
                                      file_grace=timedelta(hours=config.file_grace_hours),
                                      delete_threshold=config.delete_threshold)
        marker = self.marker(result.as_dict())
        catalog.in_transaction(self.lake, lambda con: catalog.write_marker(con, marker),
                               what="writing the maintenance marker")
        log.info("MaintainLake: %s", result.summary())
        self.progress(1, 1, result.summary())
