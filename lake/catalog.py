"""lake.catalog: the only module that knows how to reach the lake.

`connect(settings)` returns an Ibis DuckDB backend with the DuckLake catalog attached as `lake`,
the same `lake.<schema>.<table>` for every consumer (dlt, Ibis, notebooks, checks), in every
process. Around it: extensions installed from the pinned pip wheels (never downloaded), the layer
schemas, one-snapshot transactions with our own retry, atomic table publication, snapshots.

Why our own retry: DuckLake 1.5.5 retries a commit only on errors it recognises as conflicts;
SQLite's "database is locked" is not one of them (duckdb/ducklake#1309, fixed after 1.5.5), and a
logical conflict (a DELETE racing an INSERT on one table) aborts the whole transaction. Both are
safe to retry from the top, because a failed commit rolls back its data files. The loop is ten
lines (`_with_retry`) rather than tenacity's decorator: the retry has to wrap BEGIN..COMMIT around a
callable built at run time, and which errors count is one regular expression (RETRYABLE).
"""

from __future__ import annotations

import logging
import os
import random
import re
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends.duckdb import Backend

from lake.config import CatalogSettings, Settings

log = logging.getLogger(__name__)

LAKE = "lake"
METADATA_SCHEMA = "lake"  # the PostgreSQL schema holding DuckLake's metadata tables
WRITE_PROBE = "_write_probe"  # the table check_data_path_writable creates and rolls back
SCHEMAS = ("raw", "bronze", "silver", "gold", "meta")
# (wheel module suffix, name DuckDB knows it by once installed)
EXTENSIONS = (
    ("ducklake", "ducklake"),
    ("sqlite_scanner", "sqlite_scanner"),
    ("postgres", "postgres_scanner"),
    ("httpfs", "httpfs"),
)
# Commit errors that are safe to retry from BEGIN: SQLite's single writer, DuckLake's optimistic
# concurrency (logical conflicts, exhausted metadata retries, a racing first initialisation).
RETRYABLE = re.compile(
    r"database is locked|Transaction conflict|conflict|maximum retry count|"
    r"duplicate key value|has been created by another transaction",
    re.IGNORECASE,
)

T = TypeVar("T")


class LakeError(RuntimeError):
    """The lake cannot be reached or used; the message says why and what to do."""


@dataclass(frozen=True)
class Marker:
    """A Luigi completion marker, committed in the same transaction as the data it vouches for."""

    task_id: str
    task_family: str
    parameters: str  # JSON
    inputs: str = "{}"  # JSON: versions of what the task read (dependency tracking)
    started_at: datetime | None = None  # when the run began, for meta.run_log


# The lake's own bookkeeping, all append-only (a DELETE would conflict with concurrent INSERTs).
META_TABLES = {
    # Luigi completion markers, each committed with the data it vouches for.
    "task_markers": """task_id VARCHAR NOT NULL, task_family VARCHAR NOT NULL,
        parameters VARCHAR, inputs VARCHAR, written_at TIMESTAMPTZ NOT NULL""",
    # One row per ingestion batch and subject (lake.ingest): raw rows of other batches are invisible.
    "ingest_batches": """batch_id VARCHAR NOT NULL, subject_id VARCHAR NOT NULL, days DATE[] NOT NULL,
        n_entries BIGINT, n_treatments BIGINT, n_devicestatus BIGINT, n_profile BIGINT,
        committed_at TIMESTAMPTZ NOT NULL""",
    # What each (subject, UTC day, resource) of raw holds, by content hash: the root of lineage.
    "raw_day_versions": """subject_id VARCHAR NOT NULL, day DATE NOT NULL, resource VARCHAR NOT NULL,
        content_hash VARCHAR NOT NULL, n_documents BIGINT NOT NULL, batch_id VARCHAR NOT NULL,
        committed_at TIMESTAMPTZ NOT NULL""",
    # What each partition of a derived table was built from (lake.lineage signatures).
    "built_partitions": """table_name VARCHAR NOT NULL, subject_id VARCHAR NOT NULL,
        part VARCHAR NOT NULL, signature VARCHAR NOT NULL, built_at TIMESTAMPTZ NOT NULL""",
    # One row per task run that ended: 'done' (written with its marker, in the same transaction
    # as its data) or 'failed' (with the error's message, which never holds a secret).
    "run_log": """task_id VARCHAR NOT NULL, task_family VARCHAR NOT NULL, parameters VARCHAR,
        status VARCHAR NOT NULL, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ NOT NULL, message VARCHAR,
        host VARCHAR, pid INTEGER""",
    # ONE row, replaced by every raw commit (lake.ingest.commit): the exception to append-only, on
    # purpose. Two commits at once both delete it, so DuckLake lets one through and the other runs
    # again from the top, now seeing the first's batch as committed: raw commits take turns.
    "raw_commit_token": """batch_id VARCHAR, committed_at TIMESTAMPTZ NOT NULL""",
    # Results of the Polars checks (lake.checks), passing or not.
    "check_results": """table_name VARCHAR NOT NULL, check_name VARCHAR NOT NULL, severity VARCHAR NOT NULL,
        passed BOOLEAN NOT NULL, n_offending BIGINT NOT NULL, sample VARCHAR, task_id VARCHAR,
        checked_at TIMESTAMPTZ NOT NULL""",
}


def connect(settings: Settings, *, read_only: bool = False, retries: int = 8) -> Backend:
    """An Ibis DuckDB backend with the lake attached as `lake` (created on first use).

    `read_only` attaches the catalog READ_ONLY (notebooks, the report): writes then fail in DuckDB.
    """
    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": True})
    try:
        install_extensions(con)
        _create_secrets(con, settings)
        _with_retry(lambda: _attach(con, settings, read_only), retries, "attaching the lake")
        # Timestamps are UTC everywhere: casts must not depend on the machine's time zone.
        con.execute("SET TimeZone = 'UTC'")
        # Set once per session; DuckLake reads them at commit time.
        con.execute("SET ducklake_max_retry_count = 100")
        con.execute("SET ducklake_retry_wait_ms = 50")
        # Bounded memory: DuckDB spills larger sorts, joins and windows to a private temporary
        # directory (its default, ./.tmp, would land in whatever directory the user is in).
        con.execute("SET memory_limit = ?", [settings.memory_limit])
        con.execute("SET temp_directory = ?", [str(Path(tempfile.gettempdir()) / f"lake-duckdb-{os.getpid()}")])
        if not read_only:
            _with_retry(lambda: _ensure_layout(con), retries, "creating the lake's schemas")
            if settings.data_path_is_s3:
                # Wrong S3 credentials or an unreachable store otherwise surface only at the first
                # load, after a minute or two of dlt retrying what it takes for a passing failure.
                check_data_path_writable(con, settings)
    except BaseException:
        con.close()
        raise
    return ibis.duckdb.from_connection(con)


def check_data_path_writable(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Write a Parquet file through the catalog, then roll back (which deletes the file); raise
    LakeError naming the data path and the store's answer (e.g. HTTP 403) when that fails.

    More rows than the inlining limit, so DuckLake really writes to the data path. The rollback
    leaves no snapshot and no file behind; on a local path, the empty folder goes too.
    """
    con.execute("BEGIN")
    try:
        con.execute(f"CREATE TABLE {LAKE}.meta.{WRITE_PROBE} AS SELECT range AS n FROM range(1000)")
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        raise LakeError(f"cannot write to the data path {settings.data_path}: "
                        f"{redact(str(exc), settings.catalog)}") from None
    con.execute("ROLLBACK")
    if not settings.data_path_is_s3:
        with suppress(OSError):  # not empty: another process is probing right now
            (Path(settings.data_path) / "meta" / WRITE_PROBE).rmdir()


def install_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """Install the lake's extensions from the pinned pip wheels (a local file copy, no network).

    Installing is skipped when DuckDB already has them; `autoinstall_known_extensions=false` makes a
    missing one fail fast instead of downloading it.
    """
    installed = {name for (name,) in con.execute(
        "SELECT extension_name FROM duckdb_extensions() WHERE installed").fetchall()}
    for wheel, name in EXTENSIONS:
        if name in installed:
            continue
        try:
            from duckdb_extensions import import_extension

            import_extension(wheel, con=con)
        except ModuleNotFoundError as exc:
            raise LakeError(
                f"DuckDB extension {name!r} is not installed and its wheel is missing "
                f"(pip install duckdb-extension-{wheel.replace('_', '-')}=={duckdb.__version__}): {exc}"
            ) from None
        except duckdb.Error as exc:
            raise LakeError(f"DuckDB extension {name!r} could not be installed from its wheel: {exc}") from None


def _create_secrets(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Credentials go into DuckDB secrets, never into ATTACH strings: DuckDB echoes those in errors."""
    cat = settings.catalog
    if cat.kind == "postgresql":
        con.execute(
            "CREATE OR REPLACE SECRET lake_catalog (TYPE postgres, HOST ?, PORT ?, DATABASE ?, USER ?, PASSWORD ?)"
            .replace("?", "{}").format(*(_quote(v) for v in (
                cat.host, str(cat.port), cat.dbname, cat.user,
                cat.password.reveal() if cat.password else ""))))
    if settings.s3:
        s3 = settings.s3
        bucket = settings.data_path.split("/")[2]
        con.execute(
            "CREATE OR REPLACE SECRET lake_s3 (TYPE s3, KEY_ID {}, SECRET {}, ENDPOINT {}, REGION {}, "
            "USE_SSL {}, URL_STYLE {}, SCOPE {})".format(
                _quote(s3.access_key_id), _quote(s3.secret_access_key.reveal()), _quote(s3.endpoint),
                _quote(s3.region), "true" if s3.use_ssl else "false", _quote(s3.url_style),
                _quote(f"s3://{bucket}")))


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def attach_statement(settings: Settings, *, read_only: bool = False) -> str:
    """The ATTACH statement for this lake. It holds no secret (those live in DuckDB secrets)."""
    cat = settings.catalog
    # Local paths are stored absolute: the lake then works from any working directory.
    data_path = settings.data_path if settings.data_path_is_s3 else f"{Path(settings.data_path).resolve()}/"
    options = [f"DATA_PATH {_quote(data_path)}"]
    if cat.kind == "sqlite":
        target = f"ducklake:sqlite:{cat.path.resolve()}"
        # WAL lets readers work beside a writer; the busy timeout absorbs short lock waits.
        options += ["META_JOURNAL_MODE 'WAL'", "META_BUSY_TIMEOUT 5000"]
    elif cat.kind == "postgresql":
        target = "ducklake:postgres:"
        # The metadata schema is named explicitly so dlt (dlt_destination) attaches the same lake.
        options += ["META_SECRET lake_catalog", f"METADATA_SCHEMA {_quote(METADATA_SCHEMA)}"]
    else:
        target = f"ducklake:{cat.path.resolve()}"
    if read_only:
        options.append("READ_ONLY")
    return f"ATTACH {_quote(target)} AS {LAKE} ({', '.join(options)})"


def _attach(con: duckdb.DuckDBPyConnection, settings: Settings, read_only: bool) -> None:
    cat = settings.catalog
    if not read_only:
        if cat.path is not None:
            _make_folder(cat.path.parent, "the catalog's folder", "LAKE_HOME (or LAKE_CATALOG)")
        if not settings.data_path_is_s3:
            _make_folder(Path(settings.data_path), "the data path", "LAKE_HOME (or LAKE_DATA_PATH)")
    try:
        con.execute(attach_statement(settings, read_only=read_only))
    except duckdb.Error as exc:
        raise _attach_error(exc, cat) from None


def _make_folder(folder: Path, what: str, variables: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LakeError(f"Cannot create {what} {folder}: {exc.strerror or exc}. Set {variables} to a folder "
                        "this user can write.") from None


def _attach_error(exc: duckdb.Error, cat: CatalogSettings) -> Exception:
    text = redact(str(exc), cat)
    if "Could not set lock on file" in text or "Conflicting lock" in text:
        pid = re.search(r"PID (\d+)", text)
        return LakeError(
            f"The DuckDB-file catalog {cat.path} is open in another process"
            f"{f' (PID {pid.group(1)})' if pid else ''}. A DuckDB-file catalog is single-process: "
            "run one worker at a time, or use a SQLite or PostgreSQL catalog (LAKE_CATALOG) for "
            "parallel work.")
    if "Unique file handle conflict" in text:
        # A process Luigi forked for a task (--workers N) inherits its parent's attachment.
        return LakeError(
            f"The DuckDB-file catalog {cat.path} is already attached by the process this one was "
            "forked from (Luigi with --workers > 1?). A DuckDB-file catalog is single-process: run "
            "one worker, or use a SQLite or PostgreSQL catalog (LAKE_CATALOG) for parallel work.")
    if RETRYABLE.search(text):
        return duckdb.TransactionException(text)  # retried by the caller
    return LakeError(f"Cannot attach the lake catalog {cat.display()}: {text}")


def _ensure_layout(con: duckdb.DuckDBPyConnection) -> None:
    existing = {name for (name,) in con.execute(
        "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = ?", [LAKE]).fetchall()}
    tables = {name for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'meta'",
        [LAKE]).fetchall()}
    missing = [s for s in SCHEMAS if s not in existing]
    missing_tables = [t for t in META_TABLES if t not in tables]
    if not missing and not missing_tables:
        return  # the common case: no write, no snapshot
    con.execute("BEGIN")
    try:
        for schema in missing:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {LAKE}.{schema}")
        for table in missing_tables:
            con.execute(f"CREATE TABLE IF NOT EXISTS {LAKE}.meta.{table} ({META_TABLES[table]})")
        if "raw_commit_token" in missing_tables:  # its one row must be there before two commits race
            con.execute(f"INSERT INTO {LAKE}.meta.raw_commit_token VALUES (NULL, now())")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def redact(text: str, cat: CatalogSettings) -> str:
    """Remove the catalog password from a message (belt and braces: it should never be there), as
    written and as a URL carries it (dlt's errors quote its ATTACH URL: "p@ss/w" is "p%40ss%2Fw")."""
    if cat.password and cat.password.reveal():
        for form in {cat.password.reveal(), quote(cat.password.reveal(), safe=""), quote(cat.password.reveal())}:
            text = text.replace(form, "***")
    text = re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)  # any password in a URL
    return re.sub(r"(password=)\S+", r"\1***", text)


def _with_retry(work: Callable[[], T], attempts: int, what: str) -> T:
    """Run `work`, retrying with jittered exponential backoff while it fails with a retryable error."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except duckdb.Error as exc:
            if attempt == attempts or not RETRYABLE.search(str(exc)):
                raise
            delay = min(2.0, 0.05 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
            log.info("%s: retryable error (attempt %d/%d), retrying in %.2fs: %s",
                     what, attempt, attempts, delay, str(exc).splitlines()[0])
            time.sleep(delay)
    raise AssertionError("unreachable")


def raw_connection(backend: Backend) -> duckdb.DuckDBPyConnection:
    return backend.con


def in_transaction(backend: Backend, work: Callable[[duckdb.DuckDBPyConnection], T], *,
                   attempts: int = 12, what: str = "lake transaction") -> T:
    """Run `work(con)` inside BEGIN..COMMIT: everything it writes is one DuckLake snapshot.

    On a retryable commit error the whole block is rolled back and run again from the top, so
    `work` must be idempotent given the lake's state (read what it needs inside the block).
    """
    con = raw_connection(backend)

    def once() -> T:
        con.execute("BEGIN")
        try:
            result = work(con)
            con.execute("COMMIT")
            return result
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass  # the failed COMMIT already ended the transaction
            raise

    return _with_retry(once, attempts, what)


def qualified(table: str) -> str:
    """'silver.glucose_readings' -> 'lake.silver.glucose_readings' (validated, quoted)."""
    schema, _, name = table.partition(".")
    if schema not in SCHEMAS or not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a lake table name: {table!r} (expected <schema>.<table>, schema in {SCHEMAS})")
    return f'{LAKE}."{schema}"."{name}"'


def write_marker(con: duckdb.DuckDBPyConnection, marker: Marker) -> None:
    """Append a completion marker, and its run's 'done' row to meta.run_log. Markers are
    append-only: a DELETE would conflict with every concurrent marker INSERT (DuckLake conflicts
    are per table)."""
    con.execute(
        f"INSERT INTO {qualified('meta.task_markers')} VALUES (?, ?, ?, ?, now())",
        [marker.task_id, marker.task_family, marker.parameters, marker.inputs])
    log_run(con, marker.task_id, marker.task_family, marker.parameters, "done", marker.started_at)


def log_run(con: duckdb.DuckDBPyConnection, task_id: str, task_family: str, parameters: str, status: str,
            started_at: datetime | None, message: str | None = None) -> None:
    """Append a row to meta.run_log (finished now, by this host and process)."""
    con.execute(f"INSERT INTO {qualified('meta.run_log')} VALUES (?, ?, ?, ?, ?, now(), ?, ?, ?)",
                [task_id, task_family, parameters, status, started_at, message, socket.gethostname(), os.getpid()])


def publish_table(backend: Backend, table: str, expr: ir.Table, *, marker: Marker | None = None,
                  also: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> int:
    """Replace `table` with the result of `expr` in one snapshot, with its marker if given.

    `CREATE OR REPLACE ... AS` inside one transaction: readers see the old table or the new one,
    never a missing or half-built one (Ibis' own overwrite is four commits). Returns the row count.
    Writers of the same table must be serialised by the caller (DuckLake lets a concurrent INSERT
    be silently replaced).
    """
    backend._run_pre_execute_hooks(expr)  # registers in-memory tables (ibis.memtable) with DuckDB
    sql = backend.compile(expr)
    target = qualified(table)

    def work(con: duckdb.DuckDBPyConnection) -> int:
        con.execute(f"CREATE OR REPLACE TABLE {target} AS {sql}")
        if also is not None:
            also(con)
        if marker is not None:
            write_marker(con, marker)
        (rows,) = con.execute(f"SELECT count(*) FROM {target}").fetchone()
        return rows

    return in_transaction(backend, work, what=f"publishing {table}")


def marker_exists(backend: Backend, task_id: str) -> bool:
    (n,) = raw_connection(backend).execute(
        f"SELECT count(*) FROM {qualified('meta.task_markers')} WHERE task_id = ?", [task_id]).fetchone()
    return n > 0


def current_snapshot_id(backend: Backend) -> int:
    (snapshot,) = raw_connection(backend).execute(f"SELECT id FROM {LAKE}.current_snapshot()").fetchone()
    return snapshot


def snapshot_count(backend: Backend) -> int:
    (n,) = raw_connection(backend).execute(f"SELECT count(*) FROM {LAKE}.snapshots()").fetchone()
    return n


def table(backend: Backend, name: str, *, version: int | None = None) -> ir.Table:
    """An Ibis table for `<schema>.<table>`; `version` reads it as of that snapshot (time travel)."""
    qualified(name)
    schema, _, tname = name.partition(".")
    if version is None:
        return backend.table(tname, database=(LAKE, schema))
    return backend.sql(f"SELECT * FROM {qualified(name)} AT (VERSION => {int(version)})")


def table_exists(backend: Backend, name: str) -> bool:
    """Whether `<schema>.<table>` exists. A table seen once is remembered for this connection
    (the lake's tables are never dropped in normal work, and the lookup costs a catalog query)."""
    seen = backend.__dict__.setdefault("_lake_tables_seen", set())
    if name not in seen:
        # One lookup lists them all: a daily run asks about a dozen tables, 10-50 ms each.
        seen.update(tables(raw_connection(backend)))
    return name in seen


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every `<schema>.<table>` of the lake, as `con` sees it (inside a transaction: its snapshot)."""
    rows = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?",
                       [LAKE]).fetchall()
    return {f"{schema}.{name}" for schema, name in rows}


@contextmanager
def lent_to_dlt(backend: Backend, settings: Settings) -> Iterator[None]:
    """Let dlt attach the lake in this process. A DuckDB-file catalog can be attached only once per
    process ("Unique file handle conflict"), so ours is detached meanwhile; other catalogs need nothing."""
    if settings.catalog.kind != "duckdb":
        yield
        return
    con = raw_connection(backend)
    con.execute(f"DETACH {LAKE}")
    try:
        yield
    finally:
        _attach(con, settings, read_only=False)


def dlt_destination(settings: Settings):
    """A dlt `ducklake` destination for this same lake (the same catalog, data path and name).

    dlt opens its own DuckDB connections and attaches the lake itself; it finds the extensions
    that `install_extensions` put in DuckDB's extension directory and never downloads any.
    On PostgreSQL its ATTACH string holds the password: callers redact dlt's errors with `redact`.
    """
    import dlt
    from dlt.common.configuration.specs import AwsCredentials
    from dlt.common.storages.configuration import FilesystemConfiguration
    from dlt.destinations.impl.ducklake.configuration import DuckLakeCredentials

    cat = settings.catalog
    if cat.kind == "postgresql":
        password = f":{quote(cat.password.reveal(), safe='')}" if cat.password else ""
        catalog_url = f"postgres://{quote(cat.user, safe='')}{password}@{cat.host}:{cat.port}/{cat.dbname}"
    else:
        catalog_url = f"{cat.kind}:///{cat.path.resolve()}"
    if settings.s3:
        s3 = settings.s3
        scheme = "https" if s3.use_ssl else "http"
        storage = FilesystemConfiguration(
            bucket_url=settings.data_path,
            credentials=AwsCredentials(
                aws_access_key_id=s3.access_key_id,
                aws_secret_access_key=s3.secret_access_key.reveal(),
                region_name=s3.region,
                endpoint_url=f"{scheme}://{s3.endpoint}",
                s3_url_style=s3.url_style,
            ),
        )
    else:
        storage = str(Path(settings.data_path).resolve()) + "/"
    credentials = DuckLakeCredentials(LAKE, metadata_schema=METADATA_SCHEMA, catalog=catalog_url,
                                      storage=storage)
    credentials.global_config = {"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": True,
                                 "ducklake_max_retry_count": 100}
    return dlt.destinations.ducklake(credentials=credentials)


def in_partitions(con: duckdb.DuckDBPyConnection, keys: Sequence[str],
                  subjects: list[str] | None = None) -> tuple[str, list]:
    """SQL condition on a table aliased `t`, with its parameters: its rows in the partitions
    registered as `_partitions` (columns `keys`), or in those of `subjects` only. Besides the exact
    match, each key is bounded by its lowest and highest value among those partitions: with the
    ranges as plain predicates DuckLake skips the files whose column statistics lie outside them,
    where the EXISTS alone reads every key of the table (a daily run's rebuild deletes: 0.6 s in
    all before, 0.15 s after, at 50 subject-years)."""
    ranges = ", ".join(f'min(p."{k}"), max(p."{k}")' for k in keys)
    of_subjects = "" if subjects is None else " WHERE list_contains(?, p.subject_id)"
    params = list(con.execute(f"SELECT {ranges} FROM _partitions p{of_subjects}",
                              [] if subjects is None else [subjects]).fetchone())
    match = " AND ".join(f'p."{k}" = t."{k}"' for k in keys)
    conditions = [*(f't."{k}" BETWEEN ? AND ?' for k in keys),
                  f"EXISTS (SELECT 1 FROM _partitions p WHERE {match})"]
    if subjects is not None:
        conditions.append("list_contains(?, t.subject_id)")
        params.append(subjects)
    return " AND ".join(conditions), params


def replace_partitions(backend: Backend, table: str, expr: ir.Table, *, keys: Sequence[str],
                       partitions: pa.Table, built: pa.Table | None = None,
                       marker: Marker | None = None,
                       check: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> int:
    """Replace some partitions of `table` with `expr`'s rows, in one snapshot.

    `partitions` (columns `keys`) lists the partitions being rebuilt: their old rows are deleted,
    then `expr` (which must only hold rows of those partitions) is inserted. A column of `expr`
    the table does not have yet (a transform that gained one) is added first, in the same
    snapshot: the partitions not rebuilt read null there until they are. `built` rows go to
    meta.built_partitions (what each partition was built from), `check(con)` runs inside the
    transaction after the write and may raise to roll everything back, and the marker commits
    with the data. A table that does not exist yet is created from `expr`. Returns the number of
    rows written.
    """
    backend._run_pre_execute_hooks(expr)
    sql = backend.compile(expr)
    target = qualified(table)

    def work(con: duckdb.DuckDBPyConnection) -> int:
        con.register("_partitions", partitions)
        try:
            if not table_exists(backend, table):
                (rows,) = con.execute(f"CREATE TABLE {target} AS {sql}").fetchone()
            else:
                _add_missing_columns(con, target, expr.columns, sql)
                if partitions.num_rows:
                    where, params = in_partitions(con, keys)
                    con.execute(f"DELETE FROM {target} t WHERE {where}", params)
                (rows,) = con.execute(f"INSERT INTO {target} BY NAME {sql}").fetchone()
            if built is not None and built.num_rows:
                con.register("_built", built)
                con.execute(f"INSERT INTO {qualified('meta.built_partitions')} "
                            "SELECT table_name, subject_id, part, signature, now() FROM _built")
            if check is not None:
                check(con)
            if marker is not None:
                write_marker(con, marker)
            return rows
        finally:
            con.unregister("_partitions")
            con.unregister("_built")  # a no-op when it was never registered

    return in_transaction(backend, work, what=f"publishing {table}")


def _add_missing_columns(con: duckdb.DuckDBPyConnection, target: str, columns: Sequence[str],
                         sql: str) -> None:
    """ALTER TABLE `target` ADD COLUMN for each of `columns` (the query `sql`'s) it lacks, typed as
    the query types it. Their names are compared first: the query is described only on a change."""
    have = {name for (name, *_) in con.execute(f"DESCRIBE {target}").fetchall()}
    if set(columns) <= have:
        return
    for name, column_type, *_ in con.execute(f"DESCRIBE {sql}").fetchall():
        if name not in have:
            con.execute(f'ALTER TABLE {target} ADD COLUMN "{name}" {column_type}')


def query(backend: Backend, sql: str, params: Sequence | None = None) -> pa.Table:
    """Run a read-only SQL query against the lake and return Arrow (for metadata lookups)."""
    return raw_connection(backend).execute(sql, params or []).to_arrow_table()
