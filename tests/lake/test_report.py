"""lake.report: the latest period's line per subject, and one clear line instead of a traceback
when there is nothing to show or the configuration is wrong."""

from __future__ import annotations

import io
from datetime import date, timedelta

import ibis
import pyarrow as pa

from lake import catalog, report
from lake.config import Settings

SUMMARY = pa.schema([("subject_id", pa.string()), ("period_start", pa.date32()), ("period_end", pa.date32()),
                     *((c, pa.float64()) for c in (
                         "pct_70_180", "pct_below_70", "pct_below_54", "pct_above_180", "pct_above_250",
                         "mean_mg_dl", "gmi_pct", "cv_pct", "active_pct", "period_active_pct")),
                     ("days_with_readings", pa.int64()), ("sufficient_data", pa.bool_())])


def run(env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = report.run(Settings.from_env(env), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_the_latest_period_is_shown_one_line_per_subject(lake_env):
    lake = catalog.connect(Settings.from_env(lake_env))
    d1, d2, d14, d15 = date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 14), date(2024, 3, 15)
    rows = [("ana", d1, d14, 70.0, 4.0, 1.0, 26.0, 5.0, 150.0, 6.9, 35.0, 97.0, 97.0, 14, True),
            ("ana", d2, d15, 71.25, 3.0, 0.5, 25.75, 4.0, 149.6, 6.88, 34.0, 98.0, 96.4, 14, True),
            ("ben", d2, d15, 90.0, 1.0, 0.0, 9.0, 0.0, 120.0, None, 20.0, 99.0, 35.0, 5, False)]
    catalog.publish_table(lake, "gold.glucose_summary", ibis.memtable(
        pa.table(list(zip(*rows, strict=True)), schema=SUMMARY)))
    # cleo was ingested but has no reading in the period: said, not left out
    catalog.raw_connection(lake).execute(
        f"INSERT INTO {catalog.qualified('meta.ingest_batches')} (batch_id, subject_id, committed_at) "
        "VALUES ('b1', 'cleo', now())")
    code, out, err = run(lake_env)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert "period        2024-03-02 .. 2024-03-15 (local days: 14)" in lines
    header = lines.index(f"{'':22}TIR    <70    <54   >180   >250   mean    GMI     CV   days active")
    assert lines[header + 1] == f"{'':24}%      %      %      %      %  mg/dL      %      %             %"
    assert "  ana                71.2    3.0    0.5   25.8    4.0    150    6.9   34.0  14/14     96" in lines
    assert "  ben                90.0    1.0    0.0    9.0    0.0    120    n/a   20.0   5/14     35  !" \
        in lines  # GMI unknown; too little data
    assert "  cleo             no readings in this period" in lines
    assert lines[-1].startswith("  ! fewer than 14 days, or the CGM active under 70% of the period")
    assert "2024-03-14" not in out


def test_the_period_built_last_is_shown_not_the_one_that_ends_last_and_any_other_on_request(lake_env):
    lake = catalog.connect(Settings.from_env(lake_env))
    later, earlier = (date(2024, 3, 20), date(2024, 4, 2)), (date(2024, 3, 1), date(2024, 3, 14))
    rows = [("ana", *later, 60.0, 4.0, 1.0, 26.0, 5.0, 150.0, 6.9, 35.0, 97.0, 97.0, 14, True),
            ("ana", *earlier, 80.0, 3.0, 0.5, 25.75, 4.0, 149.6, 6.88, 34.0, 98.0, 96.4, 14, True)]
    catalog.publish_table(lake, "gold.glucose_summary", ibis.memtable(
        pa.table(list(zip(*rows, strict=True)), schema=SUMMARY)))
    for start, end in (later, earlier):  # the earlier period was built (or found up to date) last
        catalog.in_transaction(lake, lambda con, s=start, e=end: catalog.write_marker(con, catalog.Marker(
            f"BuildGlucoseSummary_{s}", "BuildGlucoseSummary", f'{{"end": "{e}", "start": "{s}"}}')))
    code, out, err = run(lake_env)
    assert code == 0 and "period        2024-03-01 .. 2024-03-14 (local days: 14)" in out and " 80.0 " in out
    asked = io.StringIO()
    assert report.run(Settings.from_env(lake_env), out=asked, period=later) == 0
    assert "period        2024-03-20 .. 2024-04-02 (local days: 14)" in asked.getvalue()
    assert " 60.0 " in asked.getvalue()
    code, out, err = io.StringIO(), io.StringIO(), io.StringIO()
    empty = (date(2024, 5, 1), date(2024, 5, 2))
    assert report.run(Settings.from_env(lake_env), out=out, err=err, period=empty) == 1
    assert err.getvalue().startswith("no subject has glucose readings in the period 2024-05-01 .. 2024-05-02")


def test_the_default_period_comes_first_and_a_built_period_without_results_is_passed_over(lake_env):
    from lake.config import default_period

    lake = catalog.connect(Settings.from_env(lake_env))
    default, custom = default_period(), (date(2024, 3, 1), date(2024, 3, 14))
    rows = [("ana", *default, 60.0, 4.0, 1.0, 26.0, 5.0, 150.0, 6.9, 35.0, 97.0, 97.0, 14, True),
            ("ana", *custom, 80.0, 3.0, 0.5, 25.75, 4.0, 149.6, 6.88, 34.0, 98.0, 96.4, 14, True)]
    catalog.publish_table(lake, "gold.glucose_summary", ibis.memtable(
        pa.table(list(zip(*rows, strict=True)), schema=SUMMARY)))
    future = (default[1] + timedelta(10), default[1] + timedelta(20))  # built last, no readings in it

    def mark(start, end):
        catalog.in_transaction(lake, lambda con: catalog.write_marker(con, catalog.Marker(
            f"BuildGlucoseSummary_{start}", "BuildGlucoseSummary",
            f'{{"end": "{end}", "start": "{start}"}}')))

    for period in (default, custom, future):  # a re-run of the default period finds it up to date: no marker
        mark(*period)
    code, out, err = run(lake_env)
    assert code == 0 and f"period        {default[0]} .. {default[1]}" in out  # not the later custom one
    catalog.publish_table(lake, "gold.glucose_summary", ibis.memtable(
        pa.table(list(zip(*rows[1:], strict=True)), schema=SUMMARY)))  # the default period not built
    code, out, err = run(lake_env)
    assert code == 0 and "period        2024-03-01 .. 2024-03-14" in out  # not the empty future one


def test_before_any_build_it_says_to_run_buildgold_and_creates_nothing(tmp_path):
    env = {"LAKE_HOME": str(tmp_path / "nothing-yet")}
    code, out, err = run(env)
    assert code == 1
    assert err.startswith("no lake here yet: run `luigi --module tasks BuildGold --local-scheduler`")
    assert not (tmp_path / "nothing-yet").exists()


def test_a_built_period_without_readings_is_said_not_left_blank(lake_env):
    lake = catalog.connect(Settings.from_env(lake_env))
    catalog.publish_table(lake, "gold.glucose_summary", ibis.memtable(SUMMARY.empty_table()))
    code, out, err = run(lake_env)
    assert code == 1 and "\nperiod " not in out
    assert err.startswith("no subject has glucose readings in any period built so far")


def test_bad_configuration_is_one_line_naming_the_variable(monkeypatch):
    monkeypatch.setenv("LAKE_MEMORY_LIMIT", "lots")
    out, err = io.StringIO(), io.StringIO()
    assert report.run(out=out, err=err) == 2
    assert err.getvalue().startswith("configuration ERROR: LAKE_MEMORY_LIMIT") and out.getvalue() == ""
