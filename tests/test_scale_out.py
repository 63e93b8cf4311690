"""Scale-out as production runs it: BuildGold sent to a real luigid by `luigi --workers 4`, on a
PostgreSQL catalog with S3 data, builds exactly the gold tables the embedded default builds.

Why this test exists: the embedded default (SQLite catalog, local Parquet, one worker, local
scheduler) is what most tests exercise, but production runs parallel workers under a central
scheduler against PostgreSQL and S3. Same code, configuration only (DESIGN, decision 3): so the same
input must give the same gold rows, whatever the catalog, the storage, the scheduler and the
number of workers, and luigid must see the whole run DONE.
"""

from __future__ import annotations

import json
import math
import subprocess
from datetime import date, datetime, timedelta

import pytest

from lake import catalog
from lake.config import Settings
from tests.conftest import REPO, postgres_env, s3_env
from tests.luigid import Luigid, run_failure, running_luigid
from tests.servers import stop_process_group
from tests.tasks.conftest import child_env, luigi_command, luigi_config, run_luigi, simulated_sites, sites_env

pytestmark = pytest.mark.servers

SUBJECTS = ["alice", "bob", "carol"]
START, END = date(2024, 3, 2), date(2024, 3, 4)
PERIOD = ["--start", str(START), "--end", str(END)]
GOLD = ("gold.daily_glucose", "gold.glucose_summary", "gold.agp", "gold.glucose_episodes",
        "gold.daily_treatments")
# Every status luigid knows; a finished run leaves its tasks in DONE only.
STATUSES = ("DONE", "PENDING", "RUNNING", "BATCH_RUNNING", "FAILED", "DISABLED", "UNKNOWN")
# One ingestion task per subject, so the workers have three ingestion tasks to share.
ONE_SUBJECT_PER_TASK = "[ingest]\nsubjects_per_task = 1\nsmall_load_subject_days = 0\n"
Rows = tuple[list[str], list[dict]]  # (column names, rows)


def gold_rows(env: dict[str, str], table: str) -> Rows:
    """(column names, rows) of a lake table, read through lake.catalog like any consumer does."""
    lake = catalog.connect(Settings.from_env(env), read_only=True)
    try:
        arrow = catalog.table(lake, table).to_pyarrow()
    finally:
        lake.con.close()
    return arrow.column_names, arrow.to_pylist()


def sort_key(columns: list[str], row: dict) -> tuple:
    """Exact columns first, floats last: equal rows sort alike even if floats differ in the last bit."""
    ordered = sorted(columns, key=lambda c: isinstance(row[c], float))
    return tuple((row[c] is None, row[c] if row[c] is not None else 0) for c in ordered)


def same_value(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def assert_same_table(table: str, reference: Rows, actual: Rows) -> None:
    """Same columns, same rows in any order; floats equal to a relative 1e-9 (parallel runs may sum
    in another order)."""
    columns, expected_rows = reference
    assert actual[0] == columns, f"{table}: columns differ"
    assert len(actual[1]) == len(expected_rows), f"{table}: {len(actual[1])} rows, not {len(expected_rows)}"
    assert expected_rows, f"{table}: the reference build is empty"
    expected_rows = sorted(expected_rows, key=lambda r: sort_key(columns, r))
    actual_rows = sorted(actual[1], key=lambda r: sort_key(columns, r))
    for want, got in zip(expected_rows, actual_rows, strict=True):
        differing = [c for c in columns if not same_value(want[c], got[c])]
        assert not differing, f"{table}: row differs in {differing}:\nexpected {want}\nactual   {got}"


def start_luigi_logged(args: list[str], env: dict[str, str], log) -> subprocess.Popen:
    """`luigi --module tasks ...` from the repository root in the background, its output to `log`."""
    return subprocess.Popen(luigi_command(args, env), cwd=REPO, env=child_env(env), stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def tasks_by_status(scheduler: Luigid) -> dict[str, dict[str, dict]]:
    return {status: scheduler.api("task_list", status=status) for status in STATUSES}


def run_interval(task: dict) -> tuple[float, float]:
    """When luigid saw a DONE task start running and finish (epoch seconds)."""
    return task["time_running"], task["last_updated"]


def test_build_gold_by_four_workers_through_luigid_on_postgresql_and_s3_equals_the_embedded_build(
        tmp_path, postgres, s3):
    with simulated_sites(SUBJECTS, START - timedelta(2), END + timedelta(2)) as (servers, _):
        sites = sites_env(tmp_path, servers)

        # The reference: the embedded default, exactly as documented (local scheduler, one worker,
        # default ingestion groups). It runs in the background meanwhile: the two builds share
        # nothing but the sites, and the test takes less time on a small machine.
        embedded = {"LAKE_HOME": str(tmp_path / "embedded")} | sites
        reference_log = tmp_path / "reference.log"
        with reference_log.open("w") as log:
            reference = start_luigi_logged(["BuildGold", *PERIOD, "--local-scheduler"], embedded, log)
        try:
            production = ({"LAKE_HOME": str(tmp_path / "production")} | postgres_env(postgres) | s3_env(s3)
                          | sites | luigi_config(tmp_path, ONE_SUBJECT_PER_TASK))
            # DuckLake's first initialisation of a new catalog races between parallel workers (README).
            catalog.connect(Settings.from_env(production)).con.close()
            with running_luigid(tmp_path / "luigid") as scheduler:
                started = datetime.now().timestamp()
                result = run_luigi(["BuildGold", *PERIOD, "--workers", "4", *scheduler.scheduler_args()],
                                   production, timeout=300)
                assert result.returncode == 0, run_failure(result.stderr)
                seen = tasks_by_status(scheduler)
                build_gold = next(tid for tid, t in seen["DONE"].items() if t["name"] == "BuildGold")
                graph = scheduler.api("dep_graph", task_id=build_gold)
            assert reference.wait(timeout=180) == 0, run_failure(reference_log.read_text())
        finally:
            stop_process_group(reference)  # only if it is still running (a failed or timed-out test)

    # luigid saw the whole run, and all of it finished.
    assert {s: list(tasks) for s, tasks in seen.items() if s != "DONE" and tasks} == {}
    assert set(graph) == set(seen["DONE"]), "luigid's graph of BuildGold is not exactly the DONE tasks"
    assert {node["status"] for node in graph.values()} == {"DONE"}
    families = {t["name"] for t in seen["DONE"].values()}
    assert {"BuildGold", "IngestAll", "BuildBronze", "BuildSilver", "BuildDailyGlucose",
            "BuildGlucoseSummary", "BuildAgp", "BuildGlucoseEpisodes", "BuildDailyTreatments"} <= families
    ingest = [t for t in seen["DONE"].values() if t["name"] == "IngestNightscout"]
    assert sorted(json.loads(t["params"]["subjects"]) for t in ingest) == [[s] for s in SUBJECTS]
    assert all(t["time_running"] >= started for t in seen["DONE"].values() if t["time_running"]), \
        "a task was DONE before this run (stale scheduler state)"
    # The workers really worked in parallel: two ingestion tasks were running at the same time.
    intervals = sorted(run_interval(t) for t in ingest)
    assert any(later[0] < earlier[1] for earlier, later in zip(intervals, intervals[1:])), intervals

    for table in GOLD:
        assert_same_table(table, gold_rows(embedded, table), gold_rows(production, table))
