"""lake.doctor: a health check of the configured lake, for people and for CI.

`python -m lake doctor` prints what it finds and exits non-zero with a clear message when the lake
cannot be used: bad configuration, a missing extension, an unreachable catalog, a data path that
cannot be written (wrong S3 credentials), a DuckDB-file catalog locked by another process.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import duckdb

from lake import catalog
from lake.config import ConfigError, Settings


def run(settings_factory: Callable[[], Settings] = Settings.from_env, out=sys.stdout) -> int:
    """Run every check, print a report, return the process exit code (0 = healthy)."""

    def say(label: str, value: object) -> None:
        print(f"{label:<18} {value}", file=out, flush=True)

    try:
        settings = settings_factory()
    except ConfigError as exc:
        say("configuration", f"ERROR: {exc}")
        return 2
    say("catalog", f"{settings.catalog.kind}  {settings.catalog.display()}")
    say("data path", settings.data_path)
    say("sources", ", ".join(s.subject for s in settings.sites) or "simulated demo sites")
    try:
        lake = catalog.connect(settings, retries=3)
    except (catalog.LakeError, duckdb.Error) as exc:
        say("lake", f"ERROR: {catalog.redact(str(exc), settings.catalog)}")
        return 1
    con = catalog.raw_connection(lake)
    try:
        loaded = [name for (name,) in con.execute(
            "SELECT extension_name FROM duckdb_extensions() WHERE loaded ORDER BY 1").fetchall()]
        say("extensions", ", ".join(loaded))
        if not settings.data_path_is_s3:  # connect() has checked an S3 data path already
            catalog.check_data_path_writable(con, settings)
        say("data writable", "yes")
        schemas = [name for (name,) in con.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = ? ORDER BY 1",
            [catalog.LAKE]).fetchall()]
        say("schemas", ", ".join(schemas))
        missing = [s for s in catalog.SCHEMAS if s not in schemas]
        say("snapshots", f"{catalog.snapshot_count(lake)} (current {catalog.current_snapshot_id(lake)})")
        if missing:
            say("lake", f"ERROR: schemas missing: {', '.join(missing)}")
            return 1
    except (catalog.LakeError, duckdb.Error) as exc:
        say("lake", f"ERROR: {catalog.redact(str(exc), settings.catalog)}")
        return 1
    finally:
        con.close()
    say("status", "OK")
    return 0

