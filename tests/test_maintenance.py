"""lake.maintenance and the MaintainLake task on a small embedded lake: many small commits become
fewer files, snapshots older than the retention are expired while time travel within it keeps
working, the data never changes, and maintenance runs safely beside readers and (on PostgreSQL)
writers in other processes."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from lake import catalog, maintenance
from lake.config import Settings
from tests.conftest import REPO, postgres_env, start_python
from tests.tasks.conftest import child_env

TABLE = "lake.raw.readings"


def insert(con: duckdb.DuckDBPyConnection, first: int, n: int) -> None:
    """One commit of `n` readings (ids first..first+n-1). 100 rows is above DuckLake's inlining
    limit, so each such commit writes one small Parquet file; 2 rows stay inlined in the catalog."""
    con.execute(f"INSERT INTO {TABLE} SELECT 'demo-' || (range % 3), range, 40 + range % 300 "
                f"FROM range({first}, {first + n})")


def content(con: duckdb.DuckDBPyConnection, version: int | None = None) -> tuple:
    at = f" AT (VERSION => {version})" if version is not None else ""
    return con.execute(f"SELECT count(*), sum(id), sum(hash(subject_id, id, mg_dl)) FROM {TABLE}{at}"
                       ).fetchone()


def parquet_files(env: dict[str, str]) -> int:
    """Parquet files (data and delete files) of raw.readings on disk."""
    return len(list((Path(Settings.from_env(env).data_path) / "raw" / "readings").rglob("*.parquet")))


def live_files(con: duckdb.DuckDBPyConnection) -> int:
    """Data and delete files the current snapshot of raw.readings reads."""
    (n,) = con.execute("SELECT count(data_file) + count(delete_file) "
                       "FROM ducklake_list_files('lake', 'readings', schema => 'raw')").fetchone()
    return n


def snapshot_ids(con: duckdb.DuckDBPyConnection) -> set[int]:
    return {sid for (sid,) in con.execute("SELECT snapshot_id FROM lake.snapshots()").fetchall()}


def test_maintenance_compacts_files_expires_old_snapshots_and_keeps_data_and_recent_time_travel(
        lake, lake_env):
    con = catalog.raw_connection(lake)
    con.execute(f"CREATE TABLE {TABLE} (subject_id VARCHAR, id BIGINT, mg_dl INTEGER)")
    old_snapshots = []
    for k in range(8):  # "old" work: 8 small files, 2 inlined commits, a delete
        insert(con, k * 100, 100)
        old_snapshots.append(catalog.current_snapshot_id(lake))
    insert(con, 900, 2)
    insert(con, 902, 2)
    con.execute(f"DELETE FROM {TABLE} WHERE id % 50 = 0")
    old_snapshots.append(catalog.current_snapshot_id(lake))
    time.sleep(0.05)
    retention_starts = datetime.now(UTC)  # everything before this is older than the retention
    time.sleep(0.05)
    insert(con, 1000, 100)
    recent = catalog.current_snapshot_id(lake)
    recent_content = content(con, recent)
    insert(con, 1100, 100)
    insert(con, 1200, 2)
    before = content(con)
    live_before = live_files(con)

    result = maintenance.maintain(lake, retention=timedelta(days=7), file_grace=timedelta(hours=1),
                                  now=retention_starts + timedelta(days=7))

    # The current snapshot reads one file instead of many.
    assert result.inlined_rows_flushed >= 6
    assert result.files_rewritten >= 8  # the files the DELETE touched
    assert result.files_rewritten + result.files_merged > result.files_created >= 1
    assert live_files(con) == 1 < live_before
    # Exactly the snapshots older than the retention are gone; the recent ones all remain.
    remaining = snapshot_ids(con)
    assert set(old_snapshots) <= set(result.snapshots_expired)
    assert max(result.snapshots_expired) == old_snapshots[-1]  # the last one before the boundary
    assert min(remaining) == recent  # the first one within the retention, and all after it
    assert set(result.snapshots_expired) | remaining == set(range(max(remaining) + 1))
    assert result.snapshots_after == len(remaining) < result.snapshots_before
    # The data did not change, and time travel within the retention still works.
    assert content(con) == before
    assert content(con, recent) == recent_content
    with pytest.raises(duckdb.Error, match="No snapshot found"):
        content(con, old_snapshots[2])
    assert "rewrote" in result.summary() and "expired" in result.summary()

    # Once those recent snapshots are older than the retention too, the small files they needed
    # for time travel are deleted from disk: one file is left.
    files_before = parquet_files(lake_env)
    later = maintenance.maintain(lake, retention=timedelta(days=7), now=datetime.now(UTC) + timedelta(days=8))
    assert later.snapshots_after == 1 and recent in later.snapshots_expired
    assert len(later.files_deleted) >= files_before - 1
    assert parquet_files(lake_env) == live_files(con) == 1
    assert content(con) == before

    # Another run right away finds nothing to do, and changes nothing.
    again = maintenance.maintain(lake, retention=timedelta(days=7), now=datetime.now(UTC) + timedelta(days=8))
    assert (again.files_rewritten, again.files_merged, again.snapshots_expired, again.files_deleted) == \
        (0, 0, [], [])
    assert content(con) == before


def test_with_the_real_clock_nothing_within_the_retention_is_expired(lake):
    con = catalog.raw_connection(lake)
    con.execute(f"CREATE TABLE {TABLE} (subject_id VARCHAR, id BIGINT, mg_dl INTEGER)")
    seen = {}
    for k in range(3):
        insert(con, k * 100, 100)
        seen[catalog.current_snapshot_id(lake)] = content(con)
    snapshots = snapshot_ids(con)
    result = maintenance.maintain(lake)  # now, 7 days: the whole lake is younger than that
    assert result.snapshots_expired == [] and result.files_merged == 3
    assert snapshot_ids(con) >= snapshots
    assert {sid: content(con, sid) for sid in seen} == seen


def test_cleanup_cutoff_is_rounded_down_to_a_utc_midnight():
    # DuckLake 1.5.5 compares cleanup times as text on SQLite; a cutoff just before a UTC midnight
    # is exact on every catalog (see lake.maintenance).
    assert maintenance._day_floor(datetime(2024, 3, 5, 13, 7, tzinfo=UTC)) == \
        datetime(2024, 3, 4, 23, 59, 59, 999999, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        maintenance.expire_snapshots(None, datetime(2024, 3, 5))  # type: ignore[arg-type]


WRITER = """
from lake import catalog
from lake.config import Settings
lake = catalog.connect(Settings.from_env())
# Partition rebuilds as the table tasks do them: DELETE + INSERT of one partition in one snapshot.
for i in range(24):
    part = i % 3
    def work(con):
        con.execute("DELETE FROM lake.raw.readings WHERE subject_id = ?", ["demo-%d" % part])
        con.execute("INSERT INTO lake.raw.readings SELECT ?, range, ? FROM range(?, ? + 150)",
                    ["demo-%d" % part, 100 + i, part * 10000, part * 10000])
    catalog.in_transaction(lake, work)
print("writer done")
"""


def partitions(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int], int]:
    rows = con.execute(f"SELECT subject_id, mg_dl, count(*) FROM {TABLE} GROUP BY ALL").fetchall()
    return {(subject, mg_dl): n for subject, mg_dl, n in rows}


def old_work_then_boundary(con: duckdb.DuckDBPyConnection) -> datetime:
    """Six small commits, then the retention boundary, then one more commit: everything a process
    started afterwards reads is newer than the boundary, as it is with a real retention of days."""
    con.execute(f"CREATE TABLE {TABLE} (subject_id VARCHAR, id BIGINT, mg_dl INTEGER)")
    for k in range(6):
        insert(con, 100_000 + k * 100, 100)
    time.sleep(0.05)
    boundary = datetime.now(UTC)
    time.sleep(0.05)
    insert(con, 100_600, 100)
    return boundary


def maintain_while_running(process: subprocess.Popen, lake, boundary: datetime) -> tuple[list, str, str]:
    """Flush, rewrite, merge and expire again and again while `process` runs: (runs, stdout, stderr)."""
    runs = []
    try:
        while process.poll() is None:
            runs.append(maintenance.maintain(lake, retention=timedelta(0), now=boundary))
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    return runs, out, err


@pytest.mark.servers
def test_maintenance_beside_a_writer_in_another_process_loses_nothing_on_postgresql(postgres, tmp_path):
    """The production catalog: compactions race partition rebuilds; conflicts are retried on both
    sides. (On SQLite, MaintainLake takes turns with the writers instead: measured on DuckLake
    1.5.5, a writer racing a compaction there sometimes dies with an INTERNAL error.)"""
    env = {"LAKE_HOME": str(tmp_path / "lakehouse"), **postgres_env(postgres)}
    lake = catalog.connect(Settings.from_env(env))
    con = catalog.raw_connection(lake)
    boundary = old_work_then_boundary(con)
    writer = start_python(WRITER, env)
    runs, out, err = maintain_while_running(writer, lake, boundary)
    assert writer.returncode == 0, err[-3000:]
    assert "writer done" in out
    assert runs and sum(r.files_rewritten + r.files_merged for r in runs) > 0
    assert sum(len(r.snapshots_expired) for r in runs) > 0
    # Every partition holds exactly what its last rebuild wrote; the first rows were all replaced.
    expected = {("demo-0", 121): 150, ("demo-1", 122): 150, ("demo-2", 123): 150}
    assert partitions(con) == expected
    # Once nothing runs any more, every file no snapshot needs is deleted, orphans of failed
    # commits included.
    final = maintenance.maintain(lake, retention=timedelta(0), file_grace=timedelta(0),
                                 now=datetime.now(UTC) + timedelta(days=1))
    assert final.snapshots_after == 1
    assert parquet_files(env) == live_files(con)
    assert partitions(con) == expected
    con.close()


READER = """
import os, sys, time
from lake import catalog
from lake.config import Settings
expected = os.environ["EXPECTED"]
lake = catalog.connect(Settings.from_env(), read_only=True)
con = catalog.raw_connection(lake)
times = []
while not os.path.exists(os.environ["STOP"]):
    started = time.time()
    seen = repr(con.execute("SELECT count(*), sum(hash(subject_id, id, mg_dl)) FROM lake.raw.readings")
                .fetchone())
    if seen != expected:
        sys.exit(f"read {len(times)}: {seen} != {expected} (before maintenance)")
    times.append(f"{started!r}-{time.time()!r}")
    if len(times) == 1:
        print("ready", flush=True)
print("read at", *times)
"""


def test_readers_in_another_process_see_the_same_data_while_maintenance_runs(lake, lake_env, tmp_path):
    con = catalog.raw_connection(lake)
    boundary = old_work_then_boundary(con)
    con.execute(f"DELETE FROM {TABLE} WHERE id % 7 = 0")  # something to rewrite
    before = content(con)[::2]  # (rows, their hash sum), as the reader reads it
    stop = tmp_path / "stop"
    reader = start_python(READER, {**lake_env, "EXPECTED": repr(before), "STOP": str(stop)})
    try:
        # Maintenance starts only once the reader reads, so the two overlap; the reader then reads
        # again and again until maintenance is done, each time comparing with the content before.
        assert reader.stdout.readline() == "ready\n", reader.stderr.read()[-3000:]
        runs = []
        for _ in range(3):
            started = time.time()
            run = maintenance.maintain(lake, retention=timedelta(0), now=boundary)
            runs.append((started, run, time.time()))
        stop.touch()
        out, err = reader.communicate(timeout=120)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, err[-3000:]
    assert sum(r.files_rewritten + r.files_merged for _, r, _ in runs) >= 7 and runs[0][1].snapshots_expired
    # At least one read overlapped the first run, which rewrote, merged and expired.
    reads = [tuple(map(float, span.split("-"))) for span in out.split("read at")[1].split()]
    first_started, _, first_ended = runs[0]
    assert any(start <= first_ended and end >= first_started for start, end in reads), (runs[0], reads[:5])
    assert content(con)[::2] == before


def test_maintain_lake_asks_luigid_for_the_writer_resource_on_sqlite_and_for_its_own_everywhere(monkeypatch):
    from tasks import base
    from tasks.maintenance import MaintainLake

    monkeypatch.setattr(base, "settings", lambda: Settings.from_env({}))  # the embedded SQLite default
    assert MaintainLake(day=date(2024, 3, 5)).resources == {"lake_writer": 1, "lake_maintenance": 1}
    monkeypatch.setattr(base, "settings", lambda: Settings.from_env(
        {"LAKE_CATALOG": "postgresql://lake@db.invalid:5432/lake_catalog"}))
    assert MaintainLake(day=date(2024, 3, 5)).resources == {"lake_maintenance": 1}


def run_maintain_lake(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`luigi --module tasks.maintenance MaintainLake ...` from the repository root."""
    return subprocess.run([sys.executable, "-m", "luigi", "--module", "tasks.maintenance", "MaintainLake",
                           "--local-scheduler", *args], cwd=REPO, env=child_env(env), capture_output=True,
                          text=True, timeout=300)


def test_maintain_command_reports_bad_configuration_and_an_unreachable_lake_without_a_traceback(monkeypatch, tmp_path):
    from tests.servers import free_port

    monkeypatch.setenv("LAKE_MEMORY_LIMIT", "lots")
    err = io.StringIO()
    assert maintenance.run(out=io.StringIO(), err=err) == 2
    assert err.getvalue().startswith("configuration ERROR: LAKE_MEMORY_LIMIT must be a size")
    settings = Settings.from_env({"LAKE_HOME": str(tmp_path),
                                  "LAKE_CATALOG": f"postgresql://u:Secret9@127.0.0.1:{free_port()}/db"})
    err = io.StringIO()
    assert maintenance.run(settings, out=io.StringIO(), err=err) == 1
    assert err.getvalue().startswith("lake ERROR: Cannot attach the lake catalog postgresql://u:***@")
    assert "Secret9" not in err.getvalue()


def test_maintain_lake_task_runs_once_per_day_and_records_what_it_did(lake, lake_env):
    con = catalog.raw_connection(lake)
    con.execute(f"CREATE TABLE {TABLE} (subject_id VARCHAR, id BIGINT, mg_dl INTEGER)")
    for k in range(5):
        insert(con, k * 100, 100)
    before = content(con)
    lake.con.close()

    first = run_maintain_lake(lake_env, "--day", "2024-03-05")
    assert first.returncode == 0, first.stderr[-4000:]
    assert "MaintainLake: deleted 0 raw rows of killed ingestion runs; flushed" in first.stderr, \
        first.stderr[-4000:]
    assert "merged 5 small files into 1" in first.stderr
    second = run_maintain_lake(lake_env, "--day", "2024-03-05")
    assert second.returncode == 0, second.stderr[-4000:]
    assert "MaintainLake: deleted" not in second.stderr  # complete: nothing ran

    reader = catalog.connect(Settings.from_env(lake_env), read_only=True)
    markers = catalog.query(reader, "SELECT task_id, inputs FROM lake.meta.task_markers "
                                    "WHERE task_family = 'MaintainLake'").to_pylist()
    assert len(markers) == 1 and "2024_03_05" in markers[0]["task_id"]
    assert '"files_merged": 5' in markers[0]["inputs"]
    assert content(catalog.raw_connection(reader)) == before
