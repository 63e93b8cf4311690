"""lake.maintenance: DuckLake upkeep - compact small files, expire old snapshots, delete unused files.

Every write to the lake adds a snapshot, and small writes (a marker, one day of one subject) add
small Parquet files, delete files, or rows inlined in the catalog. Left alone, the catalog and the
data path only grow and reads slow down. `maintain(lake)` first deletes the raw rows of ingestion
runs killed before their commit, more than a week ago (`lake.ingest.delete_abandoned`: invisible
to readers, but past days are never fetched again, so nothing else would), then runs DuckLake's
own maintenance functions, in this order:

1. `ducklake_flush_inlined_data`: rows DuckLake kept inside the catalog database (small inserts
   and deletes) are written out to Parquet, so the catalog stays small.
2. `ducklake_rewrite_data_files`: files with deleted rows (every partition rebuild deletes rows)
   are rewritten without them. Merging skips such files, so this comes first. By default any file
   with a deleted row is rewritten (`delete_threshold` 0): CGM tables are small, so this costs
   little; raise it for big tables.
3. `ducklake_merge_adjacent_files`: a table's small files are rewritten as fewer, larger ones.
   DuckLake 1.0 keeps each row's snapshot range in the files it writes, so time travel to a
   snapshot from before the rewrite or merge still works.
4. `ducklake_expire_snapshots`: snapshots older than the retention (default 7 days) are dropped.
   Time travel within the retention keeps working; the current snapshot is never expired.
5. `ducklake_cleanup_old_files`: files no live snapshot references any more (merged away, or only
   needed by expired snapshots) are deleted once unreferenced for longer than `file_grace`
   (default 1 hour).
6. `ducklake_delete_orphaned_files`: files in the data path that the catalog does not list at all
   are deleted once older than `file_grace`. A commit that fails on a conflict can leave the files
   it wrote behind (measured on SQLite and PostgreSQL: 4 to 7 files after 24 partition rebuilds
   raced by maintenance).

Why this is safe beside other work (measured on duckdb 1.5.5 / DuckLake 1.0):
- Each step is its own DuckLake transaction, run through `catalog.in_transaction`. DuckLake checks
  conflicts per table: a flush, rewrite or merge is a compaction, and a compaction that races a
  DELETE on the same table (a partition rebuild) makes whichever commits second fail with
  "Transaction conflict ... another transaction has compacted it" (or "... has deleted from it").
  A failed commit publishes nothing, so no data is lost, and `in_transaction` runs the step again
  from the top against the new state; the writers of this project retry theirs the same way.
  Concurrent INSERTs (appends) do not conflict with a compaction at all. Measured on PostgreSQL:
  maintenance in a loop beside a process rebuilding partitions, 15 runs, no error, no row lost.
  But beside a whole BuildGold on PostgreSQL (luigid, 2 workers), 2 of 4 `python -m lake maintain`
  runs and 1 of 5 MaintainLake runs died in `ducklake_rewrite_data_files` with DuckLake's
  "INTERNAL Error ... Compaction error - row id limit is larger than the row count of the file",
  and in 1 of 2 such builds BuildBronzeProfile, reading raw.profile while its inlined rows were
  flushed, saw each profile twice and recorded a wrong lineage (the next run rebuilt it; gold was
  unaffected). Nothing was lost; still, on every catalog, run maintenance between builds, as the
  compose worker loop does.
- On a SQLite catalog writers take turns, and maintenance is a writer: the Luigi task holds the
  `lake_writer` resource like every other lake task (tasks.maintenance.MaintainLake), so it never
  overlaps a Luigi write. This matters beyond speed: measured on DuckLake 1.5.5 with SQLite, a
  writer whose DELETE races a compaction sometimes dies with "INTERNAL Error: Could not find
  matching file for written delete file" (its transaction is lost, not the lake's data; the task
  fails and runs again). So on SQLite run `python -m lake maintain` when no build is running.
  Readers are never disturbed (tested beside a reading process on SQLite).
- Expiry only removes snapshots older than the retention: what a notebook or a task reads now
  (the current snapshot) and every snapshot within the retention stay readable. Luigi's
  dependency tracking does not use snapshot ids (lake.lineage compares content signatures kept in
  meta tables), so expiring snapshots never makes a finished task look stale or done.
- Files are deleted only when no live snapshot references them, and only after `file_grace`: a
  query that started before the expiry may still be reading them, and a transaction still running
  has written files the catalog does not list yet. `file_grace` must outlast the longest query or
  write transaction.

Two measured DuckLake 1.5.5 quirks shape the SQL below:
- On a SQLite catalog, `ducklake_expire_snapshots(older_than => t)` compares times as text
  ('2024-03-02 10:00:00+00' < '2024-03-02T09:00:00') and expires every snapshot of t's UTC day,
  even those after t (all but the current one in a fresh lake). So the snapshots to expire are
  chosen here, comparing real timestamps in DuckDB, and passed as `versions => [...]`, which is
  exact on every catalog.
- `ducklake_cleanup_old_files(older_than => t)` compares as text on SQLite too, and has no list
  form. So its cutoff (and the orphan cutoff, for uniformity) is rounded down to a UTC midnight
  (`_day_floor`): files unused since the day before that midnight or earlier are deleted, newer
  ones wait for a later run. That is exact on every catalog and never deletes a file younger than
  the grace period.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb
from ibis.backends.duckdb import Backend

from lake import catalog, ingest
from lake.config import ConfigError, Settings

DEFAULT_RETENTION = timedelta(days=7)
DEFAULT_FILE_GRACE = timedelta(hours=1)
DEFAULT_DELETE_THRESHOLD = 0.0  # rewrite a file once this fraction of its rows is deleted (0: any)


@dataclass(frozen=True)
class MaintenanceResult:
    """What one maintenance run did (the numbers DuckLake's functions returned)."""

    retention: timedelta
    snapshots_before: int
    snapshots_after: int
    inlined_rows_flushed: int = 0
    files_rewritten: int = 0  # files with deleted rows, rewritten without them
    files_merged: int = 0  # small files merged
    files_created: int = 0  # the files that replaced the rewritten and merged ones
    snapshots_expired: list[int] = field(default_factory=list)
    files_deleted: list[str] = field(default_factory=list)  # files no live snapshot references
    orphans_deleted: list[str] = field(default_factory=list)  # files the catalog never listed
    abandoned_raw_rows: int = 0  # raw rows of killed ingestion runs (lake.ingest.delete_abandoned)

    def summary(self) -> str:
        return (f"deleted {self.abandoned_raw_rows} raw rows of killed ingestion runs; "
                f"flushed {self.inlined_rows_flushed} inlined rows; rewrote {self.files_rewritten} files "
                f"with deleted rows and merged {self.files_merged} small files into {self.files_created}; "
                f"expired {len(self.snapshots_expired)} snapshots older than {_days(self.retention)} "
                f"({self.snapshots_before} -> {self.snapshots_after} snapshots); deleted "
                f"{len(self.files_deleted)} unused and {len(self.orphans_deleted)} orphaned files")

    def as_dict(self) -> dict:
        """JSON-ready (the Luigi marker stores it; file paths are counted, not listed)."""
        out = asdict(self)
        out["retention"] = _days(self.retention)
        for name in ("snapshots_expired", "files_deleted", "orphans_deleted"):
            out[name] = len(out[name])
        return out


def flush_inlined_data(backend: Backend) -> int:
    """Write rows inlined in the catalog out to Parquet; returns the number of rows flushed."""
    rows = _call(backend, "ducklake_flush_inlined_data", what="flushing inlined data")
    return sum(int(r[-1] or 0) for r in rows)  # (schema_name, table_name, rows_flushed)


def rewrite_data_files(backend: Backend,
                       delete_threshold: float = DEFAULT_DELETE_THRESHOLD) -> tuple[int, int]:
    """Rewrite the files whose deleted fraction reaches `delete_threshold` without their deleted
    rows; returns (files rewritten, files created). A compaction, like the merge."""
    if not 0 <= delete_threshold <= 1:
        raise ValueError("delete_threshold must be between 0 and 1")
    rows = _call(backend, "ducklake_rewrite_data_files", "delete_threshold => ?", [delete_threshold],
                 what="rewriting files with deleted rows")
    # (schema_name, table_name, files_processed, files_created)
    return sum(int(r[2] or 0) for r in rows), sum(int(r[3] or 0) for r in rows)


def merge_adjacent_files(backend: Backend) -> tuple[int, int]:
    """Merge each table's small files; returns (files merged, files created).

    A compaction: it conflicts with a concurrent DELETE on the same table, and is then retried.
    """
    rows = _call(backend, "ducklake_merge_adjacent_files", what="merging adjacent files")
    # (schema_name, table_name, files_processed, files_created)
    return sum(int(r[2] or 0) for r in rows), sum(int(r[3] or 0) for r in rows)


def expire_snapshots(backend: Backend, older_than: datetime) -> list[int]:
    """Expire the snapshots taken before `older_than` (never the current one); returns their ids.

    The ids are chosen here, comparing timestamps in DuckDB, and passed as `versions => [...]`:
    on a SQLite catalog DuckLake 1.5.5's own `older_than` compares text and expires too much.
    """
    cutoff = _utc(older_than)

    def work(con: duckdb.DuckDBPyConnection) -> list[int]:
        ids = [sid for (sid,) in con.execute(
            f"SELECT snapshot_id FROM {catalog.LAKE}.snapshots() WHERE snapshot_time < ? "
            f"AND snapshot_id < (SELECT max(snapshot_id) FROM {catalog.LAKE}.snapshots()) ORDER BY 1",
            [cutoff]).fetchall()]
        if not ids:
            return []
        expired = con.execute(f"CALL ducklake_expire_snapshots('{catalog.LAKE}', versions => ?)",
                              [ids]).fetchall()
        return sorted(int(r[0]) for r in expired)

    return catalog.in_transaction(backend, work, what="expiring snapshots")


def cleanup_old_files(backend: Backend, older_than: datetime) -> list[str]:
    """Delete the files no live snapshot references, unused since before `older_than` rounded down
    to a UTC midnight (see the module docstring); returns their paths."""
    rows = _call(backend, "ducklake_cleanup_old_files", "older_than => ?", [_day_floor(_utc(older_than))],
                 what="deleting unused files")
    return [r[0] for r in rows]


def delete_orphaned_files(backend: Backend, older_than: datetime) -> list[str]:
    """Delete files in the data path the catalog does not list, last modified before `older_than`
    rounded down to a UTC midnight; returns their paths. The files of a transaction still running
    are not listed yet either: only the grace period protects them."""
    rows = _call(backend, "ducklake_delete_orphaned_files", "older_than => ?", [_day_floor(_utc(older_than))],
                 what="deleting orphaned files")
    return [r[0] for r in rows]


def maintain(backend: Backend, *, retention: timedelta = DEFAULT_RETENTION,
             file_grace: timedelta = DEFAULT_FILE_GRACE, delete_threshold: float = DEFAULT_DELETE_THRESHOLD,
             now: datetime | None = None) -> MaintenanceResult:
    """Flush, rewrite, merge, expire snapshots older than `now - retention`, delete files unused
    (or orphaned) since before `now - file_grace`. `now` defaults to the current time (tests pass
    a fixed one)."""
    if retention < timedelta(0) or file_grace < timedelta(0):
        raise ValueError("retention and file_grace must not be negative")
    now = _utc(now or datetime.now(UTC))
    before = catalog.snapshot_count(backend)
    abandoned = ingest.delete_abandoned(backend, now)  # first: the rewrite below then drops their files
    flushed = flush_inlined_data(backend)
    rewritten, rewritten_into = rewrite_data_files(backend, delete_threshold)
    merged, merged_into = merge_adjacent_files(backend)
    expired = expire_snapshots(backend, now - retention)
    deleted = cleanup_old_files(backend, now - file_grace)
    orphans = delete_orphaned_files(backend, now - file_grace)
    return MaintenanceResult(retention=retention, snapshots_before=before,
                             snapshots_after=catalog.snapshot_count(backend), inlined_rows_flushed=flushed,
                             files_rewritten=rewritten, files_merged=merged,
                             files_created=rewritten_into + merged_into, snapshots_expired=expired,
                             files_deleted=deleted, orphans_deleted=orphans, abandoned_raw_rows=abandoned)


def run(settings: Settings | None = None, *, retention_days: float = DEFAULT_RETENTION.days,
        file_grace_hours: float = DEFAULT_FILE_GRACE.total_seconds() / 3600,
        delete_threshold: float = DEFAULT_DELETE_THRESHOLD, out=sys.stdout, err=sys.stderr) -> int:
    """`python -m lake maintain`: maintain the configured lake and print what was done.

    Safe beside readers; run it between builds (see the module docstring). Returns the exit code:
    0 done, 1 a step failed (nothing half-done is published; run it again), 2 bad configuration.
    """
    try:
        settings = settings or Settings.from_env()
    except ConfigError as exc:
        print(f"configuration ERROR: {exc}", file=err)
        return 2
    try:
        lake = catalog.connect(settings)
    except (catalog.LakeError, duckdb.Error) as exc:
        print(f"lake ERROR: {catalog.redact(str(exc), settings.catalog)}", file=err)
        return 1
    try:
        result = maintain(lake, retention=timedelta(days=retention_days),
                          file_grace=timedelta(hours=file_grace_hours), delete_threshold=delete_threshold)
    except duckdb.Error as exc:
        first_line = catalog.redact(str(exc), settings.catalog).splitlines()[0]
        print(f"maintenance ERROR (nothing of the failed step was published; run it again): {first_line}",
              file=err)
        return 1
    finally:
        catalog.raw_connection(lake).close()
    print(f"lake catalog  {settings.catalog.display()}", file=out)
    print(f"maintenance   {result.summary()}", file=out)
    return 0


def _call(backend: Backend, function: str, args: str = "", params: list | None = None, *, what: str) -> list:
    """CALL one DuckLake maintenance function on the lake, as one retried transaction."""
    sql = f"CALL {function}('{catalog.LAKE}'{', ' + args if args else ''})"
    return catalog.in_transaction(backend, lambda con: con.execute(sql, params or []).fetchall(), what=what)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("maintenance times must be timezone-aware (UTC)")
    return moment.astimezone(UTC)


def _day_floor(moment: datetime) -> datetime:
    """The last microsecond before `moment`'s UTC midnight: a cutoff DuckLake 1.5.5 applies exactly
    on every catalog, SQLite's text comparison included (see the module docstring)."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(microseconds=1)


def _days(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 86400:g} days"
