"""BuildGold as users run it: every contract table in the lake, readable from another process;
incremental rebuilds of exactly what a changed day reaches; a failing run exits non-zero."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest

from lake import catalog
from lake.config import Settings
from tests.conftest import run_python
from tests.tasks.conftest import child_env, luigi_command, luigi_config, run_luigi, simulated_sites, sites_env

CONTRACT = {
    "gold.daily_glucose": ["subject_id", "day", "n_readings", "active_pct", "mean_mg_dl", "sd_mg_dl", "cv_pct",
                           "gmi_pct", "pct_below_54", "pct_below_70", "pct_70_180", "pct_above_180",
                           "pct_above_250", "min_mg_dl", "max_mg_dl", "lbgi", "hbgi"],
    "gold.glucose_summary": ["subject_id", "period_start", "period_end", "n_readings", "active_pct",
                             "mean_mg_dl", "median_mg_dl", "sd_mg_dl", "cv_pct", "gmi_pct", "ea1c_pct",
                             "pct_below_54", "pct_below_70", "pct_70_180", "pct_above_180", "pct_above_250",
                             "lbgi", "hbgi", "adrr", "gri", "j_index", "mage", "modd", "conga_24h",
                             "hypo_l1_episodes", "hypo_l2_episodes", "hyper_l1_episodes", "hyper_l2_episodes",
                             "extended_hypo_episodes"],
    "gold.agp": ["subject_id", "period_start", "period_end", "minute_of_day", "p05", "p25", "p50", "p75", "p95",
                 "n_days"],
    "gold.glucose_episodes": ["subject_id", "kind", "level", "start_ts", "end_ts", "duration_min", "mean_mg_dl"],
    "gold.daily_treatments": ["subject_id", "day", "bolus_units", "carbs_g", "n_boluses", "n_carb_entries"],
}

READ_FROM_ANOTHER_PROCESS = """
import pytest

from lake import catalog
from lake.config import Settings
lake = catalog.connect(Settings.from_env(), read_only=True)
for name in {tables!r}:
    t = catalog.table(lake, name)
    print(name, t.count().execute(), ",".join(t.columns))
"""


def test_build_gold_on_the_simulated_default_fills_every_contract_table_read_by_another_process(tmp_path):
    env = {"LAKE_HOME": str(tmp_path / "lh")}
    result = run_luigi(["BuildGold", "--start", "2024-03-02", "--end", "2024-03-04", "--local-scheduler"], env)
    assert result.returncode == 0, result.stderr[-4000:]
    read = run_python(READ_FROM_ANOTHER_PROCESS.format(tables=list(CONTRACT)), env)
    assert read.returncode == 0, read.stderr
    seen = {line.split()[0]: (int(line.split()[1]), line.split()[2].split(",")) for line in read.stdout.splitlines()}
    for table, columns in CONTRACT.items():
        rows, actual = seen[table]
        assert rows > 0, table
        assert set(columns) <= set(actual), (table, set(columns) - set(actual))
    assert seen["gold.daily_glucose"][0] == 3 * 3  # three demo subjects, three days
    assert seen["gold.glucose_summary"][0] == 3
    report = run_python("from lake.report import run; run()", env)
    assert "demo-ana" in report.stdout and "TIR" in report.stdout and "GMI" in report.stdout


def built(env, table: str, since: int) -> set[str]:
    lake = catalog.connect(Settings.from_env(env), read_only=True)
    rows = lake.con.execute("SELECT part FROM lake.meta.built_partitions WHERE table_name = ? AND built_at > "
                            "(SELECT snapshot_time FROM lake.snapshots() WHERE snapshot_id = ?)",
                            [table, since]).fetchall()
    lake.con.close()
    return {part for (part,) in rows}


def snapshot(env) -> int:
    lake = catalog.connect(Settings.from_env(env), read_only=True)
    sid = catalog.current_snapshot_id(lake)
    lake.con.close()
    return sid


def test_a_changed_day_rebuilds_what_it_reaches_and_unchanged_inputs_rebuild_nothing(tmp_path):
    today = datetime.now(UTC).date()
    start, end = today - timedelta(10), today - timedelta(1)
    changed = today - timedelta(1)
    with simulated_sites(["alice"], start - timedelta(2), today) as (servers, _):
        env = ({"LAKE_HOME": str(tmp_path / "lh")} | sites_env(tmp_path, servers)
               | luigi_config(tmp_path, "[ingest]\nrefresh_minutes = 0\n"))
        args = ["BuildGold", "--start", str(start), "--end", str(end), "--local-scheduler"]
        first = run_luigi(args, env)
        assert first.returncode == 0, first.stderr[-4000:]

        # Nothing new on the site: recent days are re-read, but their content is the same.
        before = snapshot(env)
        again = run_luigi(args, env)
        assert again.returncode == 0, again.stderr[-4000:]
        assert built(env, "bronze.entries", before) == set()
        assert built(env, "gold.daily_glucose", before) == set()

        # A late upload arrives for yesterday.
        noon = datetime(changed.year, changed.month, changed.day, 12, 2, 30, tzinfo=UTC)
        servers["alice"].documents["entries"].append(
            {"_id": "late0000000000000000beef", "type": "sgv", "sgv": 333, "date": int(noon.timestamp() * 1000),
             "dateString": noon.isoformat(), "utcOffset": 0, "device": "late-uploader"})
        before = snapshot(env)
        late = run_luigi(args, env)
        assert late.returncode == 0, late.stderr[-4000:]

    def days(first: date, last: date) -> set[str]:
        return {str(first + timedelta(n)) for n in range((last - first).days + 1)}

    assert built(env, "bronze.entries", before) == {str(changed)}
    assert built(env, "silver.glucose_readings", before) == days(changed - timedelta(1), min(changed + timedelta(1), end + timedelta(1)))
    assert built(env, "gold.daily_glucose", before) == days(changed - timedelta(2), end)
    assert built(env, "gold.glucose_summary", before) == {f"{start}..{end}"}
    lake = catalog.connect(Settings.from_env(env), read_only=True)
    assert lake.con.execute("SELECT count(*) FROM lake.bronze.entries WHERE doc_id = "
                            "'late0000000000000000beef'").fetchone()[0] == 1


def test_a_failed_build_exits_non_zero(tmp_path):
    env = {"LAKE_HOME": str(tmp_path / "lh"), "LAKE_CATALOG": "postgresql://u:pw@127.0.0.1:1/nowhere"}
    result = run_luigi(["BuildGold", "--start", "2024-03-02", "--end", "2024-03-03", "--local-scheduler"], env)
    assert result.returncode == 35, result.stderr[-4000:]  # luigi.cfg's [retcode] scheduling_error
    assert "Cannot attach the lake catalog postgresql://u:***@127.0.0.1:1/nowhere" in result.stderr
    assert "Connection refused" in result.stderr
    assert "pw@" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_a_failed_build_exits_non_zero_from_a_folder_without_luigi_cfg(tmp_path):
    env = {"LAKE_HOME": str(tmp_path / "lh"), "LAKE_MEMORY_LIMIT": "lots"}
    args = ["BuildGold", "--start", "2024-03-02", "--end", "2024-03-03", "--local-scheduler"]
    result = subprocess.run(luigi_command(args, env), cwd=tmp_path, env=child_env(env), capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 35, result.stderr[-4000:]  # luigi.cfg's [retcode] scheduling_error
    assert "LAKE_MEMORY_LIMIT must be a size" in result.stderr
    assert "Traceback" not in result.stderr  # the user's to fix: the message, not Luigi's stack


@pytest.mark.parametrize("task", ["BuildGold", "BuildBronze", "BuildSilver", "BuildDailyGlucose", "IngestAll"])
def test_a_period_that_ends_before_it_starts_is_refused_by_every_entry_point(task, tmp_path):
    env = {"LAKE_HOME": str(tmp_path / "lh")}
    result = run_luigi([task, "--start", "2024-03-05", "--end", "2024-03-01", "--local-scheduler"], env)
    assert result.returncode == 35, result.stderr[-4000:]  # [retcode] scheduling_error
    assert "ValueError: --end 2024-03-01 is before --start 2024-03-05" in result.stderr
