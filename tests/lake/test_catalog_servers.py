"""lake.catalog against real servers: a PostgreSQL catalog, an S3 data path, and the doctor's
clear failures when either is wrong (never showing a secret)."""

from __future__ import annotations

import dataclasses
import io
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import dlt
import ibis
import pyarrow as pa
import pytest

from lake import catalog, doctor, ingest
from lake.config import Settings
from tests.conftest import postgres_env, run_python, s3_env, start_python

pytestmark = pytest.mark.servers

CROSS_PROCESS_READ = """
from lake import catalog
from lake.config import Settings
lake = catalog.connect(Settings.from_env(), read_only=True)
print(sorted(catalog.table(lake, "gold.handoff").n.to_list()))
"""


@pytest.mark.parametrize("data", ["local", "s3"])
@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "duckdb"])
def test_every_catalog_kind_with_local_and_s3_data_persists_across_processes(kind, data, tmp_path: Path,
                                                                             postgres, s3):
    env = {"LAKE_HOME": str(tmp_path / "home")}
    if kind == "postgresql":
        env |= postgres_env(postgres)
    elif kind == "duckdb":
        env["LAKE_CATALOG"] = f"duckdb:///{tmp_path}/cat.ducklake"
    if data == "s3":
        env |= s3_env(s3)
    lake = catalog.connect(Settings.from_env(env))
    # 1000 rows: more than DuckLake's inlining limit, so Parquet really goes to the data path.
    catalog.publish_table(lake, "gold.handoff", ibis.memtable({"n": list(range(1000))}))
    lake.con.close()  # a DuckDB-file catalog admits one process at a time
    read = run_python(CROSS_PROCESS_READ, env)
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == str(list(range(1000)))
    if data == "s3":
        bucket = env["LAKE_DATA_PATH"].split("/")[2]
        keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket=bucket).get("Contents", [])]
        assert any(k.startswith("lake/gold/handoff/") and k.endswith(".parquet") for k in keys), keys
    else:
        assert list((tmp_path / "home" / "data" / "gold" / "handoff").glob("*.parquet"))


WRITER = """
import sys
from lake import catalog
from lake.config import Settings
lake = catalog.connect(Settings.from_env())
for i in range(20):
    catalog.in_transaction(lake, lambda con: con.execute(
        "INSERT INTO lake.raw.commits SELECT ?, ?, range FROM range(100)", [WORKER, i]))
"""


def test_concurrent_commits_from_four_processes_on_postgresql_all_land(postgres, tmp_path: Path):
    env = {"LAKE_HOME": str(tmp_path)} | postgres_env(postgres)
    lake = catalog.connect(Settings.from_env(env))  # first attach before the workers (stack-facts §1.1)
    lake.con.execute("CREATE TABLE lake.raw.commits (worker INTEGER, batch INTEGER, n BIGINT)")
    writers = [start_python(WRITER.replace("WORKER", str(w)), env) for w in range(4)]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
    assert lake.con.execute("SELECT count(*), count(DISTINCT (worker, batch)) FROM lake.raw.commits"
                            ).fetchone() == (8000, 80)


def run_doctor(env: dict[str, str]) -> tuple[int, str]:
    out = io.StringIO()
    code = doctor.run(lambda: Settings.from_env(env), out=out)
    return code, out.getvalue()


def test_doctor_reports_a_healthy_postgresql_and_s3_lake(postgres, s3, tmp_path: Path):
    env = {"LAKE_HOME": str(tmp_path)} | postgres_env(postgres) | s3_env(s3)
    code, report = run_doctor(env)
    assert code == 0, report
    assert "postgresql  postgresql://lake:***@127.0.0.1:" in report
    assert "data writable      yes" in report
    assert "schemas            bronze, gold, main, meta, raw, silver" in report
    assert postgres.password not in report and s3.secret_access_key not in report


def test_doctor_fails_clearly_on_an_unreachable_postgresql_without_showing_the_password(tmp_path: Path):
    from tests.servers import free_port

    env = {"LAKE_HOME": str(tmp_path), "LAKE_CATALOG": f"postgresql://lake:Sup3rSecret@127.0.0.1:{free_port()}/db"}
    code, report = run_doctor(env)
    assert code == 1
    assert "Cannot attach the lake catalog postgresql://lake:***@127.0.0.1" in report
    assert "Connection refused" in report
    assert "Sup3rSecret" not in report


def test_doctor_fails_clearly_on_a_wrong_postgresql_password(postgres, tmp_path: Path):
    env = {"LAKE_HOME": str(tmp_path), "LAKE_CATALOG": dataclasses.replace(postgres, password="WrongPass1").url}
    code, report = run_doctor(env)
    assert code == 1
    assert "password authentication failed" in report
    assert "WrongPass1" not in report


def test_doctor_fails_clearly_on_bad_s3_credentials(postgres, s3, tmp_path: Path):
    env = {"LAKE_HOME": str(tmp_path)} | s3_env(s3) | {"LAKE_S3_SECRET_ACCESS_KEY": "NotTheSecret9"}
    code, report = run_doctor(env)
    assert code == 1
    assert "cannot write to the data path s3://" in report
    assert "403" in report
    assert "NotTheSecret9" not in report


def test_a_writable_connection_with_a_wrong_s3_secret_fails_at_once_with_the_stores_answer(s3, tmp_path: Path):
    env = {"LAKE_HOME": str(tmp_path)} | s3_env(s3) | {"LAKE_S3_SECRET_ACCESS_KEY": "NotTheSecret9"}
    with pytest.raises(catalog.LakeError) as failed:
        catalog.connect(Settings.from_env(env))
    message = str(failed.value)
    assert message.startswith(f"cannot write to the data path {env['LAKE_DATA_PATH']}:")
    assert "Forbidden (HTTP code 403)" in message and "NotTheSecret9" not in message


def test_a_load_the_store_refuses_is_not_loaded_again_and_its_error_names_the_cause(s3, tmp_path: Path, caplog):
    env = {"LAKE_HOME": str(tmp_path)} | s3_env(s3)
    catalog.connect(Settings.from_env(env))  # the lake exists; then the secret goes wrong
    wrong = Settings.from_env(env | {"LAKE_S3_SECRET_ACCESS_KEY": "NotTheSecret9"})
    batch = ingest.Batch(["alice"], [date(2024, 3, 1)])
    n = 1000  # more than DuckLake inlines in the catalog: the rows must go to the store
    rows = pa.table({"subject_id": ["alice"] * n, "window_day": [date(2024, 3, 1)] * n,
                     "doc_id": [f"e{i}" for i in range(n)], "document": ['{"sgv": 100}'] * n,
                     "batch_id": [batch.batch_id] * n, "fetched_at": [datetime.now(UTC)] * n},
                    schema=ingest.RAW_SCHEMA)
    with caplog.at_level(logging.INFO, logger="lake.ingest"), pytest.raises(ingest.IngestError) as failed:
        ingest.land(wrong, batch, iter([dlt.mark.with_table_name(rows, "entries")]))
    message = str(failed.value)
    assert message.startswith("loading alice days 2024-03-01..2024-03-01 into raw failed: HTTPException:")
    assert "Forbidden (HTTP code 403)" in message and "NotTheSecret9" not in message
    assert not [r for r in caplog.records if "loading again" in r.getMessage()]


def test_doctor_fails_clearly_when_a_duckdb_file_catalog_is_locked(tmp_path: Path):
    env = {"LAKE_HOME": str(tmp_path), "LAKE_CATALOG": f"duckdb:///{tmp_path}/cat.ducklake"}
    holder = start_python(
        """
        from lake import catalog
        from lake.config import Settings
        lake = catalog.connect(Settings.from_env())
        print("holding", flush=True)
        import time; time.sleep(60)
        """, env)
    try:
        assert holder.stdout.readline().strip() == "holding"
        code, report = run_doctor(env)
    finally:
        holder.kill()
        holder.communicate()
    assert code == 1
    assert "is open in another process" in report and "single-process" in report


def test_doctor_fails_with_the_variable_name_on_bad_configuration():
    code, report = run_doctor({"LAKE_CATALOG": "oracle://x/y"})
    assert code == 2
    assert "LAKE_CATALOG has an unknown scheme 'oracle'" in report


def test_doctor_names_the_variable_when_lake_home_cannot_be_a_folder(tmp_path: Path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    code, report = run_doctor({"LAKE_HOME": str(a_file / "lake")})
    assert code == 1
    assert f"Cannot create the catalog's folder {a_file / 'lake'}" in report and "Set LAKE_HOME" in report
    assert "Traceback" not in report


def test_doctor_command_line_on_a_fresh_embedded_lake(tmp_path: Path):
    result = run_python("from lake.__main__ import main; raise SystemExit(main(['doctor']))",
                        {"LAKE_HOME": str(tmp_path / "fresh")})
    assert result.returncode == 0, result.stderr
    assert "status             OK" in result.stdout
    assert "sqlite  sqlite:///" in result.stdout
