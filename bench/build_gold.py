"""BuildGold benchmark, end to end (ingestion included), beside a hand-written plain-DuckDB baseline.

    python -m bench.build_gold --subjects 10 --days 30
    python -m bench.build_gold --subjects 50 --days 365

Ours: `BuildGold` through Luigi's local scheduler on the embedded lake (SQLite catalog, local
Parquet), with N simulated subjects instead of the three demo ones (the only change: the task
modules' `sources_for` is replaced in this process). Then one new day is added for every subject
and BuildGold runs again for the period moved by one day (the daily incremental run).
Baseline: the same documents as NDJSON (written beforehand, not timed) loaded into the same kind
of lake with read_json, then gold.daily_glucose's contract columns computed from raw entries by one
hand-written SQL statement (bench/baseline_daily.sql) that applies the same rules as ours: the
timestamp trust order, de-duplication of documents, of re-uploaded readings and across devices
(each day's devices ranked), local days from utcOffset, R iglu's active percent. After the full
build the two tables are compared day by day: the bench fails if they differ, so both sides did
the same work.

Both sides load documents made beforehand: the baseline reads NDJSON files, ours reads each site's
day from an Arrow file (bench.common.PreparedSite), so ingestion is timed on reading the documents,
not on the simulated sites making them (a live site's server does that work). The seconds the
simulated sites take to make them are printed beside, counted on neither side.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import luigi
import polars as pl

from bench.common import (
    Measured,
    PeakRss,
    PreparedSite,
    days,
    env_for,
    fresh_home,
    measure,
    prepared_folder,
    print_row,
    python_info,
    subjects,
    write_ndjson,
    write_prepared,
)
from lake import catalog, lineage
from lake.config import Settings

# gold.daily_glucose's contract columns from raw entries, by the same rules as ours, by hand.
BASELINE_DAILY = (Path(__file__).parent / "baseline_daily.sql").read_text()
# Its columns, compared with ours day by day after the full build.
DAILY_COLUMNS = ["n_readings", "active_pct", "mean_mg_dl", "sd_mg_dl", "cv_pct", "gmi_pct", "pct_below_54",
                 "pct_below_70", "pct_70_180", "pct_above_180", "pct_above_250", "min_mg_dl", "max_mg_dl",
                 "lbgi", "hbgi"]


def baseline(root: Path, n_subjects: int, n_days: int) -> tuple[Measured, float]:
    """The baseline's measurement, and the seconds of it spent after loading raw (its daily SQL)."""
    files = root / "ndjson"
    write_ndjson(subjects(n_subjects), days(n_days), files)
    lake = catalog.connect(Settings.from_env(env_for(fresh_home(root, "baseline"))))
    con = catalog.raw_connection(lake)
    with measure() as m:
        for r in ("entries", "treatments", "devicestatus"):
            con.execute(f"""CREATE TABLE lake.raw.{r} AS SELECT subject_id, window_day, doc::VARCHAR AS document
                FROM read_json('{files}/{r}-*.ndjson', format = 'newline_delimited',
                               columns = {{subject_id: 'VARCHAR', window_day: 'DATE', doc: 'JSON'}})""")
        loaded = time.perf_counter()
        con.execute(BASELINE_DAILY)
        daily_sql = time.perf_counter() - loaded
    (rows,) = con.execute("SELECT count(*) FROM lake.gold.daily_glucose").fetchone()
    print_row(f"baseline: read_json + daily SQL ({rows:,} daily rows)", n_subjects * n_days, m, "subject-days")
    print(f"    load {m.seconds - daily_sql:.1f} s, daily SQL {daily_sql:.1f} s", flush=True)
    return m, daily_sql


def same_daily_metrics(root: Path, n_days: int) -> int:
    """Compare the baseline's gold.daily_glucose with ours on the days both have whole, raising
    if any contract column differs (beyond float rounding); returns the number of days compared.

    The baseline loaded the documents of `n_days` UTC days, so its first and last local days
    miss the readings that fall on the UTC days either side (ours fetched those)."""
    loaded = days(n_days)
    first, last = loaded[0] + timedelta(1), loaded[-1] - timedelta(1)
    tables = []
    for name in ("baseline", "ours"):
        lake = catalog.connect(Settings.from_env(env_for(root / name)), read_only=True)
        daily = catalog.table(lake, "gold.daily_glucose")
        daily = daily.filter(daily.day.between(first, last)).select("subject_id", "day", *DAILY_COLUMNS)
        tables.append(daily.to_polars())
        lake.disconnect()
    baseline_daily, ours = tables
    joined = baseline_daily.join(ours, on=["subject_id", "day"], how="full", suffix="_ours", coalesce=True)
    differs = pl.lit(False)
    for c in DAILY_COLUMNS:
        a, b = pl.col(c).cast(pl.Float64), pl.col(f"{c}_ours").cast(pl.Float64)
        differs = differs | (a.is_null() != b.is_null()) | ((a - b).abs() > 1e-9 * pl.max_horizontal(b.abs(), 1))
    bad = joined.filter(differs)
    if bad.height:
        raise AssertionError(f"the baseline's daily metrics differ from ours on {bad.height} of "
                             f"{joined.height} subject-days:\n{bad.head(5)}")
    return joined.height


def build_gold(root: Path, n_subjects: int, n_days: int):
    import os

    home = fresh_home(root, "ours")
    os.environ.update(env_for(home))
    import tasks
    import tasks.base
    import tasks.ingest
    import tasks.tables

    tasks.base.settings.cache_clear()
    # The UTC days ingestion fetches for the local days (two either side), plus the new day.
    day_list = days(n_days + 1)
    fetched = lineage.days(day_list[0] - timedelta(2), day_list[-1] + timedelta(2))
    folder = prepared_folder(root, fetched)
    simulated = subjects(n_subjects)
    generation = write_prepared(simulated, fetched, folder)
    print(f"  (the simulated sites made ours' documents in {generation:.1f} s, before the clock started)")
    sources = [PreparedSite(source, fetched, folder) for source in simulated]
    tasks.ingest.sources_for = tasks.tables.sources_for = lambda settings: sources
    start, end = day_list[0], day_list[-2]

    def run(first, last, label):
        with measure() as m, task_timings() as by_family:
            ok = luigi.build([tasks.BuildGold(start=first, end=last)], local_scheduler=True, workers=1,
                             log_level="WARNING")
        assert ok, "BuildGold failed"
        print_row(label, n_subjects * ((last - first).days + 1), m, "subject-days")
        ingestion = by_family.get("IngestNightscout", 0.0)
        rest = sum(by_family.values()) - ingestion
        print(f"    ingestion tasks {ingestion:.1f} s, every other task {rest:.1f} s", flush=True)
        return m, rest

    full, after_ingestion = run(start, end, f"BuildGold full ({n_subjects} subjects x {n_days} days)")
    compared = same_daily_metrics(root, n_days)
    print(f"    gold.daily_glucose equal to the baseline's on all {compared:,} subject-days both have whole")
    incremental, _ = run(start + timedelta(1), end + timedelta(1), "BuildGold, one new day for every subject")
    return full, incremental, after_ingestion


@contextlib.contextmanager
def task_timings() -> Iterator[dict[str, float]]:
    """Print each task's run time, when it ended and the process's peak memory while it ran:
    where the time and the memory go. Yields the run seconds summed by task family."""
    started = time.perf_counter()
    by_family: dict[str, float] = {}

    def report(task, seconds):
        by_family[task.task_family] = by_family.get(task.task_family, 0.0) + seconds
        print(f"    {seconds:7.1f} s  (ended at {time.perf_counter() - started:7.1f} s, peak rss "
              f"{peak.take() / 2**20:6,.0f} MB)  {task.task_id}", flush=True)

    with PeakRss() as peak:
        luigi.Task.event_handler(luigi.Event.PROCESSING_TIME)(report)
        try:
            yield by_family
        finally:
            luigi.Task.remove_event_handler(luigi.Event.PROCESSING_TIME, report)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    root = args.workdir or Path(tempfile.mkdtemp(prefix="lake-bench-"))
    print(f"BuildGold: {args.subjects} subjects x {args.days} days   ({python_info()}, work dir {root})")
    base, base_sql = baseline(root, args.subjects, args.days)
    full, incremental, after_ingestion = build_gold(root, args.subjects, args.days)
    print(f"  full build / baseline time: {full.seconds / base.seconds:.1f}x (target <= 2x); "
          f"peak memory {full.peak_rss_mb:,.0f} MB (target <= 3 GB)")
    # Not a target: the layers after loading raw, side by side (ours: every table, its checks and
    # lineage; the baseline: one SQL statement for gold.daily_glucose's contract columns).
    print(f"  after loading raw: ours {after_ingestion:.1f} s (bronze, silver, gold, checks), "
          f"baseline {base_sql:.1f} s (daily SQL): {after_ingestion / base_sql:.1f}x")
    print(f"  one new day / full build time: {incremental.seconds / full.seconds:.1%} (target <= 10%)")


if __name__ == "__main__":
    main()
