"""The real test servers of tests/servers.py: PostgreSQL and SeaweedFS S3 on loopback ports."""

from __future__ import annotations

import dataclasses
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest
from duckdb_extensions import import_extension

from tests.servers import (
    LOOPBACK,
    PostgresInfo,
    S3Info,
    create_database,
    drop_database,
    free_port,
    running_postgres,
    running_s3,
)

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresInfo]:
    with running_postgres(tmp_path_factory.mktemp("postgres")) as info:
        yield info


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Info]:
    with running_s3(tmp_path_factory.mktemp("s3")) as info:
        yield info


def duckdb_with(*extensions: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with `extensions` installed from their wheels and loaded."""
    con = duckdb.connect()
    for name in extensions:
        import_extension(name, con=con)
    return con


def accepts_tcp(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((LOOPBACK, port)) == 0


# --- PostgreSQL -----------------------------------------------------------------------------------


def test_postgres_info_describes_a_password_url_on_loopback(pg: PostgresInfo) -> None:
    assert pg.host == "127.0.0.1" and pg.user == "lake" and pg.dbname == "lake_catalog"
    assert pg.password and pg.port > 0
    assert pg.url == f"postgresql://lake:{pg.password}@127.0.0.1:{pg.port}/lake_catalog"
    assert pg.dsn == f"dbname=lake_catalog host=127.0.0.1 port={pg.port} user=lake password={pg.password}"


def test_postgres_accepts_the_role_with_its_password_over_tcp(pg: PostgresInfo) -> None:
    with psycopg.connect(pg.url, connect_timeout=5) as con:
        row = con.execute("SELECT current_user, current_database(), inet_server_addr()::text").fetchone()
    assert row == ("lake", "lake_catalog", "127.0.0.1/32")


def test_postgres_listens_on_loopback_only(pg: PostgresInfo) -> None:
    with pg.connect() as con:
        assert con.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)


def test_postgres_refuses_a_wrong_password(pg: PostgresInfo) -> None:
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "lake"'):
        dataclasses.replace(pg, password="wrong").connect()


def test_create_database_gives_an_empty_database_owned_by_the_role(pg: PostgresInfo) -> None:
    fresh = create_database(pg, "fresh_catalog")
    assert fresh == dataclasses.replace(pg, dbname="fresh_catalog")
    with fresh.connect() as con:
        owner = con.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'fresh_catalog'")
        assert owner.fetchone() == ("lake",)
        tables = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        assert tables.fetchone() == (0,)
    drop_database(pg, "fresh_catalog")
    with pg.connect() as con:
        left = con.execute("SELECT count(*) FROM pg_database WHERE datname = 'fresh_catalog'")
        assert left.fetchone() == (0,)


def test_duckdb_postgres_extension_attaches_with_the_password(pg: PostgresInfo) -> None:
    db = create_database(pg, "duckdb_attach")
    con = duckdb_with("postgres")
    con.execute("LOAD postgres_scanner")
    # With TYPE postgres the string is a bare libpq DSN; a 'postgres:' prefix is only for ATTACH without TYPE.
    con.execute(f"ATTACH '{db.dsn}' AS pg (TYPE postgres)")
    con.execute("CREATE TABLE pg.public.readings (x INTEGER)")
    con.execute("INSERT INTO pg.public.readings VALUES (42)")
    assert con.execute("SELECT x FROM pg.public.readings").fetchall() == [(42,)]
    con.execute(f"ATTACH 'postgres:{db.dsn}' AS pg_again")
    assert con.execute("SELECT x FROM pg_again.public.readings").fetchall() == [(42,)]
    con.close()
    with db.connect() as check:
        assert check.execute("SELECT x FROM readings").fetchall() == [(42,)]


def test_duckdb_reports_an_unreachable_postgres_as_connection_refused(pg: PostgresInfo) -> None:
    closed = dataclasses.replace(pg, port=free_port())
    con = duckdb_with("postgres")
    con.execute("LOAD postgres_scanner")
    with pytest.raises(duckdb.IOException, match="Connection refused") as error:
        con.execute(f"ATTACH '{closed.dsn}' AS pg (TYPE postgres)")
    assert str(error.value).startswith("IO Error: Unable to connect to Postgres at ")


def test_duckdb_reports_a_wrong_postgres_password(pg: PostgresInfo) -> None:
    con = duckdb_with("postgres")
    con.execute("LOAD postgres_scanner")
    wrong = dataclasses.replace(pg, password="wrong")
    with pytest.raises(duckdb.IOException, match='password authentication failed for user "lake"'):
        con.execute(f"ATTACH '{wrong.dsn}' AS pg (TYPE postgres)")


# --- S3 -------------------------------------------------------------------------------------------


def test_s3_info_names_a_loopback_endpoint_without_scheme(s3: S3Info) -> None:
    host, port = s3.endpoint.split(":")
    assert host == "127.0.0.1" and int(port) > 0
    assert s3.endpoint_url == f"http://{s3.endpoint}"
    assert s3.region == "us-east-1" and s3.access_key_id and s3.secret_access_key


def test_s3_create_bucket_makes_a_bucket_boto3_can_list(s3: S3Info) -> None:
    assert s3.create_bucket("listed-bucket") == "listed-bucket"
    names = [b["Name"] for b in s3.client().list_buckets()["Buckets"]]
    assert "listed-bucket" in names


def test_duckdb_httpfs_writes_and_reads_parquet_on_s3(s3: S3Info) -> None:
    s3.create_bucket("duckdb-roundtrip")
    con = duckdb_with("httpfs")
    con.execute("LOAD httpfs")
    con.execute(f"CREATE SECRET (TYPE s3, KEY_ID '{s3.access_key_id}', SECRET '{s3.secret_access_key}', "
                f"ENDPOINT '{s3.endpoint}', URL_STYLE 'path', USE_SSL false, REGION 'us-east-1')")
    con.execute("COPY (SELECT 42 AS x) TO 's3://duckdb-roundtrip/x.parquet'")
    assert con.execute("SELECT x FROM 's3://duckdb-roundtrip/x.parquet'").fetchall() == [(42,)]
    assert con.execute("SELECT file FROM glob('s3://duckdb-roundtrip/*')").fetchall() == [
        ("s3://duckdb-roundtrip/x.parquet",)]


def test_duckdb_secret_sql_configures_httpfs_for_the_server(s3: S3Info) -> None:
    s3.create_bucket("secret-helper")
    con = duckdb_with("httpfs")
    con.execute(s3.duckdb_secret_sql())
    con.execute("COPY (SELECT 7 AS y) TO 's3://secret-helper/y.parquet'")
    assert con.execute("SELECT y FROM 's3://secret-helper/y.parquet'").fetchall() == [(7,)]


def test_duckdb_is_refused_with_a_wrong_s3_secret_key(s3: S3Info) -> None:
    s3.create_bucket("wrong-secret")
    con = duckdb_with("httpfs")
    con.execute(s3.duckdb_secret_sql())
    con.execute("COPY (SELECT 1 AS x) TO 's3://wrong-secret/x.parquet'")
    con.execute(dataclasses.replace(s3, secret_access_key="wrong").duckdb_secret_sql())
    with pytest.raises(duckdb.HTTPException, match=r"(?s)HTTP 403 Forbidden.*SignatureDoesNotMatch"):
        con.execute("SELECT * FROM 's3://wrong-secret/x.parquet'")
    with pytest.raises(duckdb.HTTPException, match=r"(?s)HTTP code 403.*SignatureDoesNotMatch"):
        con.execute("COPY (SELECT 2 AS x) TO 's3://wrong-secret/y.parquet'")


def test_duckdb_is_refused_with_an_unknown_s3_access_key(s3: S3Info) -> None:
    s3.create_bucket("unknown-key")
    con = duckdb_with("httpfs")
    con.execute(dataclasses.replace(s3, access_key_id="NOSUCHKEY").duckdb_secret_sql())
    with pytest.raises(duckdb.HTTPException, match=r"(?s)403.*InvalidAccessKeyId"):
        con.execute("COPY (SELECT 1 AS x) TO 's3://unknown-key/x.parquet'")


def test_s3_refuses_anonymous_requests(s3: S3Info) -> None:
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{s3.endpoint_url}/", timeout=5)
    assert error.value.code == 403


def test_ducklake_keeps_its_catalog_in_postgres_and_its_files_on_s3(pg: PostgresInfo, s3: S3Info) -> None:
    catalog = create_database(pg, "ducklake_smoke")
    s3.create_bucket("ducklake-smoke")
    con = duckdb_with("httpfs", "postgres", "ducklake")
    con.execute(s3.duckdb_secret_sql())
    con.execute(f"ATTACH 'ducklake:postgres:{catalog.dsn}' AS lake (DATA_PATH 's3://ducklake-smoke/')")
    con.execute("CREATE TABLE lake.numbers AS SELECT range AS i FROM range(1000)")
    assert con.execute("SELECT count(*), sum(i) FROM lake.numbers").fetchone() == (1000, 499500)
    keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket="ducklake-smoke")["Contents"]]
    assert keys and all(k.endswith(".parquet") for k in keys)
    with catalog.connect() as check:
        assert check.execute("SELECT count(*) FROM ducklake_table").fetchone()[0] >= 1


# --- Stopping -------------------------------------------------------------------------------------


def test_postgres_is_stopped_when_the_block_ends(tmp_path: Path) -> None:
    with running_postgres(tmp_path) as info:
        assert accepts_tcp(info.port)
    assert not accepts_tcp(info.port)
    assert "database system is shut down" in (tmp_path / "postgres.log").read_text()
    assert not list(tmp_path.glob("pgdata-*"))


def test_s3_is_stopped_and_its_data_deleted_when_the_block_ends(tmp_path: Path) -> None:
    with running_s3(tmp_path) as info:
        info.create_bucket("short-lived")
        port = int(info.endpoint.split(":")[1])
        assert accepts_tcp(port)
    assert not accepts_tcp(port)
    assert not (tmp_path / "weed-data").exists()
    assert not list(tmp_path.glob("*.sock"))
