"""lake.config: one frozen Settings object, built from environment variables.

Every variable is optional (DESIGN "Configuration contract"); with none set the lake is embedded:
a SQLite catalog and a local Parquet directory under ./lakehouse, fed by the simulated demo sites.
Validation happens here, once, and fails fast with a ConfigError naming the variable.
Secrets are wrapped in `Secret`, whose repr and str never show the value; error messages never
echo a value that may hold one (a catalog URL, a token).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

CatalogKind = Literal["sqlite", "postgresql", "duckdb"]


def default_period(today: date | None = None) -> tuple[date, date]:
    """The period built when none is given (DESIGN's Luigi contract): the 14 days ending yesterday,
    by this machine's date."""
    today = today or date.today()
    return today - timedelta(days=14), today - timedelta(days=1)


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Secret:
    """A secret value that never shows itself in repr, str, logs or exceptions."""

    value: str = field(repr=False)

    def reveal(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class CatalogSettings:
    """Where the DuckLake catalog (metadata database) lives."""

    kind: CatalogKind
    path: Path | None = None  # sqlite and duckdb
    host: str = ""  # postgresql
    port: int = 5432
    user: str = ""
    password: Secret | None = None
    dbname: str = ""

    def display(self) -> str:
        """The catalog location with the password redacted, safe to print."""
        if self.kind == "postgresql":
            auth = f"{self.user}:***@" if self.password else f"{self.user}@" if self.user else ""
            return f"postgresql://{auth}{self.host}:{self.port}/{self.dbname}"
        return f"{self.kind}:///{self.path}"


@dataclass(frozen=True)
class S3Settings:
    """Object-store access for an s3:// data path (AWS defaults unless an endpoint is given)."""

    access_key_id: str
    secret_access_key: Secret
    endpoint: str = "s3.amazonaws.com"
    region: str = "us-east-1"
    use_ssl: bool = True
    url_style: Literal["path", "vhost"] = "vhost"


@dataclass(frozen=True)
class Site:
    """One Nightscout site and the subject its data belongs to."""

    subject: str
    url: str
    token: Secret | None = None
    api_secret: Secret | None = None


DEFAULT_MEMORY_LIMIT = "2GB"


@dataclass(frozen=True)
class Settings:
    """The whole configuration of one process. Build it with `Settings.from_env()`."""

    lake_home: Path
    catalog: CatalogSettings
    data_path: str  # a local directory or s3://bucket/prefix/, always ending in "/"
    s3: S3Settings | None = None
    sites: tuple[Site, ...] = ()
    request_pause_s: float = 0.5  # pause between two requests to one Nightscout site
    # DuckDB's memory limit per process; beyond it DuckDB spills to temporary files. Its own
    # default (80% of RAM) let one bronze rebuild of a subject-year take most of a laptop.
    memory_limit: str = DEFAULT_MEMORY_LIMIT

    @property
    def data_path_is_s3(self) -> bool:
        return self.data_path.startswith("s3://")

    @property
    def uses_simulated_sites(self) -> bool:
        """With no site configured, the built-in simulated demo sites are the source."""
        return not self.sites

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        lake_home = Path(_get(env, "LAKE_HOME") or "./lakehouse")
        catalog = _parse_catalog(
            _get(env, "LAKE_CATALOG") or f"sqlite:///{lake_home / 'catalog.sqlite'}"
        )
        data_path = _parse_data_path(_get(env, "LAKE_DATA_PATH") or f"{lake_home / 'data'}/")
        s3 = _parse_s3(env) if data_path.startswith("s3://") else None
        return cls(lake_home, catalog, data_path, s3, _parse_sites(env), _parse_pause(env),
                   _parse_memory_limit(env))


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _parse_catalog(url: str) -> CatalogSettings:
    """Parse LAKE_CATALOG. Paths follow the SQLAlchemy convention: `sqlite:///rel/path`,
    `sqlite:////abs/path`. The URL itself is never echoed: it may hold a password."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(
            "LAKE_CATALOG must look like sqlite:///path, duckdb:///path or "
            "postgresql://user:password@host:port/dbname"
        )
    scheme = scheme.lower()
    if scheme in ("sqlite", "duckdb"):
        path = rest[1:] if rest.startswith("/") else rest
        if not path:
            raise ConfigError(f"LAKE_CATALOG ({scheme}) names no file: use {scheme}:///path/to/file")
        return CatalogSettings(kind=scheme, path=Path(path))  # type: ignore[arg-type]
    if scheme in ("postgresql", "postgres"):
        return _parse_postgres(url)
    raise ConfigError(
        f"LAKE_CATALOG has an unknown scheme {scheme!r}: use sqlite, postgresql or duckdb"
    )


def _parse_postgres(url: str) -> CatalogSettings:
    try:
        parts = urlsplit(url)
        port = parts.port or 5432
    except ValueError:
        raise ConfigError("LAKE_CATALOG is not a valid postgresql:// URL (bad host or port)") from None
    dbname = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not dbname:
        raise ConfigError(
            "LAKE_CATALOG must name a host and a database: postgresql://user:password@host:port/dbname"
        )
    password = Secret(unquote(parts.password)) if parts.password else None
    return CatalogSettings(
        kind="postgresql",
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or ""),
        password=password,
        dbname=dbname,
    )


def _parse_data_path(value: str) -> str:
    if "://" in value and not value.startswith("s3://"):
        raise ConfigError("LAKE_DATA_PATH must be a local directory or an s3://bucket/prefix/ URL")
    if value.startswith("s3://") and not value[len("s3://") :].strip("/"):
        raise ConfigError("LAKE_DATA_PATH s3:// URL names no bucket: use s3://bucket/prefix/")
    return value if value.endswith("/") else value + "/"


_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _parse_s3(env: Mapping[str, str]) -> S3Settings:
    key_id, secret = _get(env, "LAKE_S3_ACCESS_KEY_ID"), _get(env, "LAKE_S3_SECRET_ACCESS_KEY")
    missing = [n for n, v in (("LAKE_S3_ACCESS_KEY_ID", key_id), ("LAKE_S3_SECRET_ACCESS_KEY", secret)) if not v]
    if missing:
        raise ConfigError(f"LAKE_DATA_PATH is an s3:// URL but {' and '.join(missing)} not set")
    endpoint = _get(env, "LAKE_S3_ENDPOINT")
    if "://" in endpoint:
        raise ConfigError("LAKE_S3_ENDPOINT is host:port without a scheme; use LAKE_S3_USE_SSL for http/https")
    use_ssl_text = (_get(env, "LAKE_S3_USE_SSL") or "true").lower()
    if use_ssl_text not in _BOOLS:
        raise ConfigError("LAKE_S3_USE_SSL must be true or false")
    # A custom endpoint (MinIO, SeaweedFS) almost always wants path-style URLs; AWS wants vhost.
    url_style = (_get(env, "LAKE_S3_URL_STYLE") or ("path" if endpoint else "vhost")).lower()
    if url_style not in ("path", "vhost"):
        raise ConfigError("LAKE_S3_URL_STYLE must be path or vhost")
    return S3Settings(
        access_key_id=key_id,
        secret_access_key=Secret(secret),
        endpoint=endpoint or "s3.amazonaws.com",
        region=_get(env, "LAKE_S3_REGION") or "us-east-1",
        use_ssl=_BOOLS[use_ssl_text],
        url_style=url_style,  # type: ignore[arg-type]
    )


def _parse_pause(env: Mapping[str, str]) -> float:
    text = _get(env, "NIGHTSCOUT_PAUSE_S") or "0.5"
    try:
        pause = float(text)
    except ValueError:
        raise ConfigError("NIGHTSCOUT_PAUSE_S must be a number of seconds (e.g. 0.5)") from None
    if not 0 <= pause <= 60:
        raise ConfigError("NIGHTSCOUT_PAUSE_S must be between 0 and 60 seconds")
    return pause


_SIZE = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


def _parse_memory_limit(env: Mapping[str, str]) -> str:
    text = _get(env, "LAKE_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
    if not _SIZE.match(text):
        raise ConfigError("LAKE_MEMORY_LIMIT must be a size such as 2GB or 512MB (DuckDB's memory_limit)")
    return text


_SUBJECT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def _parse_sites(env: Mapping[str, str]) -> tuple[Site, ...]:
    url, sites_file = _get(env, "NIGHTSCOUT_URL"), _get(env, "LAKE_SITES")
    if url and sites_file:
        raise ConfigError("set either NIGHTSCOUT_URL or LAKE_SITES, not both")
    if url:
        subject = _get(env, "NIGHTSCOUT_SUBJECT") or _subject_from_host(url)
        return (
            _site(subject, url, _get(env, "NIGHTSCOUT_TOKEN"), _get(env, "NIGHTSCOUT_API_SECRET"),
                  where="NIGHTSCOUT_URL", token_var="NIGHTSCOUT_TOKEN",
                  secret_var="NIGHTSCOUT_API_SECRET", subject_var="NIGHTSCOUT_SUBJECT"),
        )
    if sites_file:
        return _read_sites_file(Path(sites_file), env)
    return ()


def _subject_from_host(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return re.sub(r"[^a-z0-9-]", "-", host.split(".")[0].lower()).strip("-")


def _site(subject: str, url: str, token: str, api_secret: str, *, where: str, token_var: str,
          secret_var: str, subject_var: str) -> Site:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where} must be an http(s):// URL of a Nightscout site")
    if parts.username or parts.password or parts.query:
        raise ConfigError(f"{where} must not carry credentials or a query; use {token_var} or {secret_var}")
    if not _SUBJECT.match(subject):
        raise ConfigError(
            f"{subject_var} {subject!r} must be lower-case letters, digits, '-' or '_' (at most 63)"
        )
    if token and api_secret:
        raise ConfigError(f"set either {token_var} or {secret_var} for {where}, not both")
    return Site(
        subject=subject,
        url=url.rstrip("/"),
        token=Secret(token) if token else None,
        api_secret=Secret(api_secret) if api_secret else None,
    )


def _read_sites_file(path: Path, env: Mapping[str, str]) -> tuple[Site, ...]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"LAKE_SITES file {path} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"LAKE_SITES file {path} is not valid TOML: {exc}") from None
    entries = document.get("site")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"LAKE_SITES file {path} has no [[site]] tables")
    sites: list[Site] = []
    for n, entry in enumerate(entries, start=1):
        where = f"LAKE_SITES {path} site #{n}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a [[site]] table with keys subject and url, "
                              f"not a {type(entry).__name__}")
        if not isinstance(entry.get("subject"), str) or not isinstance(entry.get("url"), str):
            raise ConfigError(f"{where} needs string keys subject and url")
        secrets = {}
        for key in ("token_env", "api_secret_env"):
            var = entry.get(key)
            if var is None:
                continue
            if not isinstance(var, str) or not _get(env, var):
                raise ConfigError(f"{where}: {key} names variable {var!r}, which is not set")
            secrets[key] = _get(env, var)
        unknown = set(entry) - {"subject", "url", "token_env", "api_secret_env"}
        if unknown:
            raise ConfigError(f"{where} has unknown keys {sorted(unknown)} (secrets never live in this file)")
        sites.append(
            _site(entry["subject"], entry["url"], secrets.get("token_env", ""),
                  secrets.get("api_secret_env", ""), where=where, token_var="token_env",
                  secret_var="api_secret_env", subject_var=f"{where} subject")
        )
    subjects = [s.subject for s in sites]
    duplicated = sorted({s for s in subjects if subjects.count(s) > 1})
    if duplicated:
        raise ConfigError(f"LAKE_SITES file {path} lists subject(s) {duplicated} more than once")
    return tuple(sites)
