"""lake.catalog on the embedded lake: tables persist across processes, publication is atomic,
concurrent commits all land, and the DuckDB-file catalog explains its single-process limit."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
import pytest

from lake import catalog
from lake.config import Settings
from tests.conftest import run_python, start_python


def test_connect_attaches_the_lake_with_every_layer_schema(lake):
    schemas = {name for (name,) in lake.con.execute(
        "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = 'lake'").fetchall()}
    assert set(catalog.SCHEMAS) <= schemas
    assert catalog.table_exists(lake, "meta.task_markers")


def test_extensions_come_from_the_wheels_and_are_never_downloaded(lake):
    (autoinstall,) = lake.con.execute("SELECT current_setting('autoinstall_known_extensions')").fetchone()
    assert autoinstall is False
    loaded = {name for (name,) in lake.con.execute(
        "SELECT extension_name FROM duckdb_extensions() WHERE loaded").fetchall()}
    assert {"ducklake", "sqlite_scanner"} <= loaded


def test_extensions_are_installed_from_the_pip_wheels_into_an_empty_extension_directory(tmp_path: Path):
    # A fresh directory: nothing installed earlier (from the network or otherwise) can stand in.
    con = duckdb.connect(config={"extension_directory": str(tmp_path), "autoinstall_known_extensions": False})
    catalog.install_extensions(con)
    installed = {name: (mode, Path(source)) for name, mode, source in con.execute(
        "SELECT extension_name, install_mode, installed_from FROM duckdb_extensions() "
        "WHERE installed").fetchall()}
    for _, name in catalog.EXTENSIONS:
        mode, source = installed[name]
        assert mode == "CUSTOM_PATH", (name, mode)  # copied from a file, not from a repository
        assert source.is_file() and source.resolve().is_relative_to(Path(sys.prefix).resolve()), source
        assert source.parent.parent.parent.name.startswith("duckdb_extension_"), source  # the wheel's package


def test_memory_is_bounded_by_lake_memory_limit_and_spills_to_a_private_directory(lake_env, tmp_path: Path):
    backend = catalog.connect(Settings.from_env({**lake_env, "LAKE_MEMORY_LIMIT": "200MB"}))
    try:
        limit, spill = backend.con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
        assert limit == "190.7 MiB"  # DuckDB reports 200 MB (10^6 bytes) in MiB
        assert Path(spill).is_absolute() and spill != str(Path.cwd() / ".tmp")
        # A sort several times the limit completes by spilling instead of failing.
        (n,) = backend.con.execute("SELECT count(*) FROM (SELECT md5(i::VARCHAR) || repeat('x', 100) AS s "
                                   "FROM range(4000000) t(i) ORDER BY s)").fetchone()
        assert n == 4_000_000
    finally:
        backend.con.close()


def test_a_missing_extension_is_a_clear_error_not_a_download(tmp_path: Path):
    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "extension_directory": str(tmp_path / "empty")})
    with pytest.raises(duckdb.IOException, match="not found"):
        con.execute("LOAD ducklake")


def test_a_table_written_by_one_process_is_read_by_another(lake_env):
    written = run_python(
        """
        import ibis
        from lake import catalog
        from lake.config import Settings
        lake = catalog.connect(Settings.from_env())
        catalog.publish_table(lake, "gold.handoff", ibis.memtable({"subject_id": ["a", "b"], "tir": [71.5, 64.0]}))
        """, lake_env)
    assert written.returncode == 0, written.stderr
    read = run_python(
        """
        from lake import catalog
        from lake.config import Settings
        lake = catalog.connect(Settings.from_env(), read_only=True)
        print(catalog.table(lake, "gold.handoff").order_by("subject_id").to_pyarrow().to_pylist())
        """, lake_env)
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "[{'subject_id': 'a', 'tir': 71.5}, {'subject_id': 'b', 'tir': 64.0}]"


def test_publish_table_and_its_marker_are_one_snapshot(lake):
    before = catalog.current_snapshot_id(lake)
    rows = catalog.publish_table(lake, "silver.numbers", ibis.memtable({"n": list(range(100))}),
                                 marker=catalog.Marker("BuildNumbers__x", "BuildNumbers", json.dumps({"x": 1})))
    assert rows == 100
    assert catalog.current_snapshot_id(lake) == before + 1
    assert catalog.marker_exists(lake, "BuildNumbers__x")


def test_a_failed_publication_leaves_neither_table_nor_marker(lake):
    def fail(con):
        raise RuntimeError("boom in the middle")

    with pytest.raises(RuntimeError, match="boom"):
        catalog.publish_table(lake, "silver.never", ibis.memtable({"n": [1, 2]}),
                              marker=catalog.Marker("Never", "Never", "{}"), also=fail)
    assert not catalog.table_exists(lake, "silver.never")
    assert not catalog.marker_exists(lake, "Never")


def test_replace_partitions_replaces_only_the_partitions_it_is_given(lake):
    d1, d2 = date(2024, 1, 1), date(2024, 1, 2)

    def rows(parts: list[tuple[str, date]], n: int):
        return ibis.memtable(pa.table({"subject_id": [s for s, _ in parts], "day": [d for _, d in parts],
                                       "n": [n] * len(parts)}))

    def partitions(parts: list[tuple[str, date]]) -> pa.Table:
        return pa.table({"subject_id": [s for s, _ in parts], "day": [d for _, d in parts]})

    keys = ["subject_id", "day"]
    every = [(s, d) for s in "abc" for d in (d1, d2)]
    assert catalog.replace_partitions(lake, "silver.parts", rows(every, 1), keys=keys,
                                      partitions=partitions(every)) == 6
    # Two opposite corners: the partitions between them (b's days, a's d2, c's d1) stay as they were.
    corners = [("a", d1), ("c", d2)]
    assert catalog.replace_partitions(lake, "silver.parts", rows(corners, 2), keys=keys,
                                      partitions=partitions(corners)) == 2
    table = catalog.table(lake, "silver.parts").to_pyarrow().to_pylist()
    assert sorted((r["subject_id"], r["day"], r["n"]) for r in table) == [
        ("a", d1, 2), ("a", d2, 1), ("b", d1, 1), ("b", d2, 1), ("c", d1, 1), ("c", d2, 2)]


def test_replace_partitions_adds_a_column_the_transform_gained_and_keeps_the_other_partitions(lake):
    keys, d1, d2 = ["subject_id", "day"], date(2024, 1, 1), date(2024, 1, 2)
    catalog.replace_partitions(lake, "gold.grows", ibis.memtable(pa.table(
        {"subject_id": ["a", "a"], "day": [d1, d2], "n": [1, 1]})), keys=keys,
        partitions=pa.table({"subject_id": ["a", "a"], "day": [d1, d2]}))
    # The transform now also writes `note` (text) and `share` (a double); only d2 is rebuilt.
    catalog.replace_partitions(lake, "gold.grows", ibis.memtable(pa.table(
        {"subject_id": ["a"], "day": [d2], "n": [2], "note": ["new"], "share": [0.5]})), keys=keys,
        partitions=pa.table({"subject_id": ["a"], "day": [d2]}))
    con = catalog.raw_connection(lake)
    assert [(name, kind) for name, kind, *_ in con.execute("DESCRIBE lake.gold.grows").fetchall()] == [
        ("subject_id", "VARCHAR"), ("day", "DATE"), ("n", "BIGINT"), ("note", "VARCHAR"), ("share", "DOUBLE")]
    assert sorted(con.execute("SELECT day, n, note, share FROM lake.gold.grows").fetchall()) == [
        (d1, 1, None, None), (d2, 2, "new", 0.5)]


def test_read_only_connection_refuses_writes(lake, lake_env):
    reader = catalog.connect(Settings.from_env(lake_env), read_only=True)
    with pytest.raises(duckdb.Error, match="(?i)read.only"):
        reader.con.execute("CREATE TABLE lake.silver.nope AS SELECT 1 AS x")


def test_time_travel_reads_a_table_as_of_an_earlier_snapshot(lake):
    catalog.publish_table(lake, "gold.versions", ibis.memtable({"v": [1]}))
    first = catalog.current_snapshot_id(lake)
    catalog.publish_table(lake, "gold.versions", ibis.memtable({"v": [2, 3]}))
    assert catalog.table(lake, "gold.versions", version=first).v.to_list() == [1]
    assert sorted(catalog.table(lake, "gold.versions").v.to_list()) == [2, 3]


POLLER = """
import sys, time
from lake import catalog
from lake.config import Settings
lake = catalog.connect(Settings.from_env(), read_only=True)
print("ready", flush=True)
seen, deadline = set(), time.time() + 120
while time.time() < deadline:
    try:
        rows = lake.con.execute("SELECT count(*), count(DISTINCT build) FROM lake.silver.rebuilt").fetchone()
    except Exception as exc:
        print("ERROR", type(exc).__name__, str(exc).splitlines()[0], flush=True)
        continue
    seen.add(rows)
    if rows == (1000, 1) and lake.con.execute("SELECT max(build) FROM lake.silver.rebuilt").fetchone()[0] == 50:
        break
print("SEEN", sorted(seen), flush=True)
"""


def test_readers_never_see_a_table_missing_or_half_built_during_50_rebuilds(lake, lake_env):
    def build(n: int) -> ibis.Table:
        return ibis.memtable({"build": [n] * 1000, "i": list(range(1000))})

    catalog.publish_table(lake, "silver.rebuilt", build(0))
    poller = start_python(POLLER, lake_env)
    assert poller.stdout.readline().strip() == "ready"
    for n in range(1, 51):
        catalog.publish_table(lake, "silver.rebuilt", build(n))
    out, err = poller.communicate(timeout=180)
    assert poller.returncode == 0, err
    assert "ERROR" not in out, out
    assert out.strip().endswith("SEEN [(1000, 1)]"), out


WRITER = """
import sys
from lake import catalog
from lake.config import Settings
lake = catalog.connect(Settings.from_env())
worker = int(sys.argv[1]) if len(sys.argv) > 1 else 0
for i in range(20):
    catalog.in_transaction(lake, lambda con: con.execute(
        "INSERT INTO lake.raw.commits SELECT ?, ?, range FROM range(100)", [WORKER, i]))
print("done", flush=True)
"""


def test_concurrent_commits_from_four_processes_on_sqlite_all_land(lake, lake_env):
    lake.con.execute("CREATE TABLE lake.raw.commits (worker INTEGER, batch INTEGER, n BIGINT)")
    writers = [start_python(WRITER.replace("WORKER", str(w)), lake_env) for w in range(4)]
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
    total, batches = lake.con.execute(
        "SELECT count(*), count(DISTINCT (worker, batch)) FROM lake.raw.commits").fetchone()
    assert (total, batches) == (4 * 20 * 100, 80)


def test_duckdb_file_catalog_refuses_a_second_process_and_says_why(tmp_path: Path):
    env = {"LAKE_CATALOG": f"duckdb:///{tmp_path}/cat.ducklake", "LAKE_DATA_PATH": str(tmp_path / "data")}
    holder = start_python(
        """
        import sys
        from lake import catalog
        from lake.config import Settings
        lake = catalog.connect(Settings.from_env())
        print("holding", flush=True)
        sys.stdin.readline() if sys.stdin else None
        import time; time.sleep(60)
        """, env)
    try:
        assert holder.stdout.readline().strip() == "holding"
        second = run_python(
            """
            from lake import catalog
            from lake.config import Settings
            catalog.connect(Settings.from_env())
            """, env)
        assert second.returncode != 0
        assert "is open in another process" in second.stderr
        assert "A DuckDB-file catalog is single-process" in second.stderr
    finally:
        holder.kill()
        holder.communicate()


def test_a_process_forked_from_one_holding_a_duckdb_file_catalog_is_told_to_run_one_worker(tmp_path: Path):
    # What Luigi does with --workers 2: it forks a process per task from one that has the lake attached.
    env = {"LAKE_CATALOG": f"duckdb:///{tmp_path}/cat.ducklake", "LAKE_DATA_PATH": str(tmp_path / "data")}
    forked = run_python(
        """
        import multiprocessing
        from lake import catalog
        from lake.config import Settings

        settings = Settings.from_env()
        lake = catalog.connect(settings)

        def task(answers):
            try:
                catalog.connect(settings)
                answers.put("attached")
            except catalog.LakeError as exc:
                answers.put(str(exc))

        fork = multiprocessing.get_context("fork")
        answers = fork.Queue()
        child = fork.Process(target=task, args=(answers,))
        child.start()
        print(answers.get(timeout=120))
        child.join()
        """, env)
    assert forked.returncode == 0, forked.stderr
    assert "is already attached by the process this one was forked from" in forked.stdout
    assert "A DuckDB-file catalog is single-process: run one worker" in forked.stdout


def test_duckdb_file_catalog_works_in_one_process(tmp_path: Path):
    settings = Settings.from_env({"LAKE_CATALOG": f"duckdb:///{tmp_path}/cat.ducklake",
                                  "LAKE_DATA_PATH": str(tmp_path / "data")})
    lake = catalog.connect(settings)
    catalog.publish_table(lake, "bronze.single", ibis.memtable({"x": [1, 2, 3]}))
    lake.con.close()
    again = catalog.connect(settings, read_only=True)
    assert catalog.table(again, "bronze.single").count().execute() == 3


def test_redact_removes_the_password_as_written_url_encoded_and_in_any_url():
    from lake.config import CatalogSettings, Secret

    cat = CatalogSettings("postgresql", host="h", user="lake", password=Secret("p@ss/w rd"), dbname="db")
    text = ("attach failed at postgres://lake:p%40ss%2Fw%20rd@h/db; dsn password=p@ss/w rd; "
            "mirror postgresql://backup:other-secret@10.0.0.2:5432/db (p@ss/w rd)")
    redacted = catalog.redact(text, cat)
    for secret in ("p@ss/w rd", "p%40ss%2Fw%20rd", "other-secret", "ss/w"):
        assert secret not in redacted, redacted
    assert "postgres://lake:***@h/db" in redacted and "postgresql://backup:***@10.0.0.2:5432/db" in redacted
