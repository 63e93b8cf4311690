"""Ingestion as users run it: `luigi --module tasks IngestAll` against real local Nightscout HTTP
servers, on SQLite and PostgreSQL catalogs, with parallel workers and a killed run."""

from __future__ import annotations

import os
import signal
import time
from datetime import date

import luigi
import pytest

import tasks.ingest
from lake import catalog
from lake.config import Settings
from tests.conftest import postgres_env
from tests.tasks.conftest import (luigi_config, run_luigi, simulated_sites, sites_env,
                                  start_luigi_held_before_commit)

FIRST, LAST = date(2024, 3, 1), date(2024, 3, 3)
RANGE = ["--start", str(FIRST), "--end", str(LAST)]
ONE_SUBJECT_PER_TASK = "[ingest]\nsubjects_per_task = 1\nsmall_load_subject_days = 0\n"


def counts(env: dict[str, str]) -> dict[tuple[str, str], tuple[int, int]]:
    """(resource, subject) -> (raw rows of committed batches, distinct doc ids)."""
    lake = catalog.connect(Settings.from_env(env), read_only=True)
    out = {}
    for resource in ("entries", "treatments", "devicestatus"):
        rows = lake.con.execute(f"""
            SELECT subject_id, count(*), count(DISTINCT doc_id) FROM lake.raw.{resource}
            WHERE batch_id IN (SELECT batch_id FROM lake.meta.ingest_batches) GROUP BY 1""").fetchall()
        out.update({(resource, s): (n, d) for s, n, d in rows})
    lake.con.close()
    return out


def expected_counts(expected: dict[str, dict[str, list]]) -> dict[tuple[str, str], tuple[int, int]]:
    return {(r, s): (len(docs[r]), len({d["_id"] for d in docs[r]}))
            for s, docs in expected.items() for r in ("entries", "treatments", "devicestatus")}


def test_one_site_by_url_and_token_is_ingested_end_to_end(tmp_path):
    with simulated_sites(["alice"], FIRST, LAST) as (servers, expected):
        env = {"LAKE_HOME": str(tmp_path / "lh"), "NIGHTSCOUT_URL": servers["alice"].url,
               "NIGHTSCOUT_TOKEN": "alice-token", "NIGHTSCOUT_SUBJECT": "alice", "NIGHTSCOUT_PAUSE_S": "0"}
        result = run_luigi(["IngestAll", *RANGE, "--local-scheduler"], env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert counts(env) == expected_counts(expected)
        assert {r.query.get("token") for r in servers["alice"].requests} == {"alice-token"}


def test_a_wrong_token_fails_fast_with_the_site_named_and_a_nonzero_exit(tmp_path):
    with simulated_sites(["alice"], FIRST, LAST) as (servers, _):
        env = {"LAKE_HOME": str(tmp_path / "lh"), "NIGHTSCOUT_URL": servers["alice"].url,
               "NIGHTSCOUT_TOKEN": "wrong-token-123", "NIGHTSCOUT_SUBJECT": "alice", "NIGHTSCOUT_PAUSE_S": "0"}
        result = run_luigi(["IngestAll", *RANGE, "--local-scheduler"], env)
        assert result.returncode == 30  # luigi.cfg [retcode] task_failed
        output = result.stdout + result.stderr
        assert servers["alice"].url in output
        assert "wrong-token-123" not in output
        assert [r.path for r in servers["alice"].requests] == ["/api/v1/verifyauth"]


def test_two_workers_on_the_sqlite_catalog_ingest_two_subjects_each_document_once(tmp_path):
    with simulated_sites(["alice", "bob"], FIRST, LAST) as (servers, expected):
        env = ({"LAKE_HOME": str(tmp_path / "lh")} | sites_env(tmp_path, servers)
               | luigi_config(tmp_path, ONE_SUBJECT_PER_TASK))
        result = run_luigi(["IngestAll", *RANGE, "--local-scheduler", "--workers", "2"], env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert counts(env) == expected_counts(expected)


@pytest.mark.servers
def test_four_workers_on_a_postgresql_catalog_ingest_four_subjects_each_document_once(tmp_path, postgres):
    subjects = ["alice", "bob", "carol", "dave"]
    with simulated_sites(subjects, FIRST, LAST) as (servers, expected):
        env = ({"LAKE_HOME": str(tmp_path / "lh")} | postgres_env(postgres) | sites_env(tmp_path, servers)
               | luigi_config(tmp_path, ONE_SUBJECT_PER_TASK))
        catalog.connect(Settings.from_env(env)).con.close()  # attach once before the workers
        result = run_luigi(["IngestAll", *RANGE, "--local-scheduler", "--workers", "4"], env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert counts(env) == expected_counts(expected)


def test_a_killed_ingestion_rerun_converges_to_the_exact_counts(tmp_path):
    with simulated_sites(["alice", "bob"], FIRST, date(2024, 3, 20)) as (servers, expected):
        env = {"LAKE_HOME": str(tmp_path / "lh")} | sites_env(tmp_path, servers)
        args = ["IngestAll", "--start", str(FIRST), "--end", "2024-03-20", "--local-scheduler"]
        held = tmp_path / "commit-held"
        run = start_luigi_held_before_commit(held, args, env)
        deadline = time.time() + 120
        while not held.exists() and run.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert held.exists(), f"the ingestion never reached its commit (exit code {run.poll()})"
        # The crash point: dlt has written raw rows that no batch in meta.ingest_batches owns yet.
        assert counts(env) == {}
        reader = catalog.connect(Settings.from_env(env), read_only=True)
        assert reader.con.execute("SELECT count(*) FROM lake.raw.devicestatus").fetchone()[0] > 0
        reader.con.close()
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        result = run_luigi(args, env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert counts(env) == expected_counts(expected)


@pytest.fixture
def ingest_config():
    """Set `[ingest]` options of Luigi's configuration for this test only."""
    config = luigi.configuration.get_config()
    if not config.has_section("ingest"):
        config.add_section("ingest")
    before = dict(config.items("ingest"))

    def configure(**options: int) -> None:
        for name, value in options.items():
            config.set("ingest", name, str(value))

    yield configure
    for name in dict(config.items("ingest")):
        if name in before:
            config.set("ingest", name, before[name])
        else:
            config.remove_option("ingest", name)


def test_a_small_load_goes_in_one_task_and_a_large_one_in_groups_of_subjects(in_process_lake, ingest_config):
    ingest_config(subjects_per_task=1, small_load_subject_days=9)
    small = tasks.ingest.ingest_tasks(FIRST, LAST)  # 3 demo subjects x 3 days = 9 subject-days
    assert [list(t.subjects) for t in small] == [["demo-ana", "demo-ben", "demo-cleo"]]
    ingest_config(small_load_subject_days=8)
    large = tasks.ingest.ingest_tasks(FIRST, LAST)
    assert [list(t.subjects) for t in large] == [["demo-ana"], ["demo-ben"], ["demo-cleo"]]
