"""Luigi tasks: `luigi --module tasks BuildGold [--start D] [--end D]` builds everything for the period.

Thin wiring around lake.*: ingestion (tasks.ingest), then bronze, silver and gold tables
(tasks.bronze, tasks.silver, tasks.gold), each rebuilt only where its inputs changed.
"""

from __future__ import annotations

import os
from pathlib import Path

import luigi

# Luigi runs any task of an imported module by name (`luigi --module tasks BuildBronzeEntries`):
# every table task's module is imported here, whether or not this module uses it.
from tasks import bronze, silver  # noqa: F401
from tasks.base import check_period
from tasks.gold import TASKS as GOLD_TASKS
from tasks.gold import BuildSilver
from tasks.ingest import IngestAll, IngestNightscout
from tasks.maintenance import MaintainLake
from tasks.tables import BuildBronze, Period

# Luigi reads luigi.cfg only from the working directory (or $LUIGI_CONFIG_PATH). Run from anywhere
# else, the project's settings would silently be lost: a failed build would exit 0 (Luigi's default
# retcodes) and SQLite writers would no longer take turns. Luigi loads this module before it reads
# any of them (its config classes read their values when instantiated, not when imported), so the
# project's file still applies where no other is given.
PROJECT_CONFIG = Path(__file__).resolve().parent.parent / "luigi.cfg"
if PROJECT_CONFIG.is_file() and not Path("luigi.cfg").exists() and "LUIGI_CONFIG_PATH" not in os.environ:
    luigi.configuration.add_config_path(str(PROJECT_CONFIG))


class BuildGold(luigi.WrapperTask):
    """Every gold table (and what it needs) for the local calendar days [start, end].

    Default: the 14 days ending yesterday.
    """

    start = Period.start
    end = Period.end

    def requires(self):
        check_period(self.start, self.end)
        period = {"start": self.start, "end": self.end}
        # Bronze and silver tables that no gold table reads (quarantine, sensor errors, device
        # status) are part of the build too.
        return [BuildBronze(**period), BuildSilver(**period)] + [cls(**period) for cls in GOLD_TASKS]


__all__ = ["BuildGold", "BuildSilver", "BuildBronze", "IngestAll", "IngestNightscout", "MaintainLake"]
