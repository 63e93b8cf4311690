"""Helpers for task tests: Nightscout sites served by real local HTTP servers, and the luigi
command run in a separate process exactly as a user runs it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import luigi
import pytest

import tasks.base
from lake.sources.simulated import documents_for_fake_server
from tests.conftest import CONFIG_PREFIXES, REPO
from tests.fake_nightscout import FakeNightscout

TOKEN_ROLE = "readable"


@pytest.fixture
def in_process_lake(lake_env, monkeypatch):
    """A fresh embedded lake with the demo sites, for task code called in this process."""
    for name, value in lake_env.items():
        monkeypatch.setenv(name, value)
    fresh_process_state()
    yield lake_env
    fresh_process_state()


def fresh_process_state() -> None:
    """Forget the settings, lake connections and task instances of an earlier lake: Luigi shares
    one instance per parameters, and an instance remembers it was complete (LakeTask.complete)."""
    tasks.base.settings.cache_clear()
    tasks.base._connections.clear()
    luigi.task_register.Register.clear_instance_cache()


def utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@contextlib.contextmanager
def simulated_sites(subjects: list[str], first: date, last: date, *, extra: dict[str, list[dict]] | None = None):
    """One FakeNightscout per subject serving its simulated documents for UTC days [first, last];
    yields (servers by subject, expected documents by subject)."""
    with contextlib.ExitStack() as stack:
        servers, expected = {}, {}
        for subject in subjects:
            docs = documents_for_fake_server(subject, utc(first), utc(last + timedelta(1)))
            for kind, more in (extra or {}).items():
                docs[kind] = docs[kind] + more
            servers[subject] = stack.enter_context(
                FakeNightscout(**docs, tokens={f"{subject}-token": TOKEN_ROLE}, default_role="denied"))
            expected[subject] = docs
        yield servers, expected


def sites_env(tmp_path: Path, servers: dict[str, FakeNightscout]) -> dict[str, str]:
    """LAKE_SITES for the servers, with their tokens in environment variables."""
    lines, env = [], {}
    for subject, server in servers.items():
        var = subject.upper().replace("-", "_") + "_NS_TOKEN"
        lines.append(f'[[site]]\nsubject = "{subject}"\nurl = "{server.url}"\ntoken_env = "{var}"\n')
        env[var] = f"{subject}-token"
    (tmp_path / "sites.toml").write_text("\n".join(lines))
    return {"LAKE_SITES": str(tmp_path / "sites.toml"), "NIGHTSCOUT_PAUSE_S": "0", **env}


def luigi_config(tmp_path: Path, text: str) -> dict[str, str]:
    """An extra luigi config file (read after the repository's luigi.cfg)."""
    path = tmp_path / "extra-luigi.cfg"
    path.write_text(text)
    return {"LUIGI_CONFIG_PATH": str(path)}


def luigi_command(args: list[str], env: dict[str, str]) -> list[str]:
    return [sys.executable, "-m", "luigi", "--module", "tasks", *args]


def child_env(env: dict[str, str]) -> dict[str, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_PREFIXES) and k != "LUIGI_CONFIG_PATH"}
    full.update(env)
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full.get("PYTHONPATH")]))
    return full


def run_luigi(args: list[str], env: dict[str, str], *, timeout: float = 600) -> subprocess.CompletedProcess:
    """`luigi --module tasks ...` from the repository root, as a user runs it."""
    return subprocess.run(luigi_command(args, env), cwd=REPO, env=child_env(env), capture_output=True,
                          text=True, timeout=timeout)


def start_luigi_held_before_commit(signal_file: Path, args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start `luigi --module tasks ...` so that it writes `signal_file` and waits forever when it is
    about to commit a raw batch (tests/tasks/luigi_held_before_commit.py)."""
    command = [sys.executable, "-m", "tests.tasks.luigi_held_before_commit", str(signal_file),
               "--module", "tasks", *args]
    return subprocess.Popen(command, cwd=REPO, env=child_env(env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
