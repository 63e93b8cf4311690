"""BuildGold benchmark, end to end (ingestion included), beside a hand-written plain-DuckDB baseline.

    python -m bench.build_gold --subjects 10 --days 30
    python -m bench.build_gold --subjects 50 --days 365

Ours: `BuildGold` through Luigi's local scheduler on the embedded lake (SQLite catalog, local
Parquet), with N simulated subjects instead of the three demo ones (the only change: the task
modules' `sources_for` is replaced in this process). Then one new day is added for every subject
and BuildGold runs again for the period moved by one day (the daily incremental run).
Baseline: the same documents as NDJSON (written beforehand, not timed) loaded into the same kind
of lake with read_json, and gold.daily_glucose's metrics computed by one SQL statement.

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

BASELINE_DAILY = """
CREATE TABLE lake.gold.daily_glucose AS
WITH docs AS (
    SELECT subject_id, doc FROM read_json('{files}/entries-*.ndjson', format = 'newline_delimited',
        columns = {{subject_id: 'VARCHAR', window_day: 'DATE', doc: 'JSON'}})
), readings AS (
    SELECT DISTINCT ON (subject_id, doc->>'$._id') subject_id,
           make_timestamp(CAST(doc->>'$.date' AS BIGINT) * 1000)
             + to_minutes(coalesce(CAST(doc->>'$.utcOffset' AS INTEGER), 0)) AS local_ts,
           CAST(doc->>'$.sgv' AS DOUBLE) AS g
    FROM docs WHERE doc->>'$.type' = 'sgv' AND CAST(doc->>'$.sgv' AS DOUBLE) >= 39
)
SELECT subject_id, CAST(local_ts AS DATE) AS day, count(*) AS n_readings, avg(g) AS mean_mg_dl,
       stddev_samp(g) AS sd_mg_dl, 100 * stddev_samp(g) / avg(g) AS cv_pct, 3.31 + 0.02392 * avg(g) AS gmi_pct,
       100 * avg(CAST(g < 54 AS DOUBLE)) AS pct_below_54, 100 * avg(CAST(g < 70 AS DOUBLE)) AS pct_below_70,
       100 * avg(CAST(g BETWEEN 70 AND 180 AS DOUBLE)) AS pct_70_180,
       100 * avg(CAST(g > 180 AS DOUBLE)) AS pct_above_180, 100 * avg(CAST(g > 250 AS DOUBLE)) AS pct_above_250,
       min(g) AS min_mg_dl, max(g) AS max_mg_dl,
       22.77 * sum(CASE WHEN g < 112.5 THEN least(pow(ln(g), 1.084) - 5.381, 0) ^ 2 ELSE 0 END) / count(*) AS lbgi,
       22.77 * sum(CASE WHEN g >= 112.5 THEN greatest(pow(ln(g), 1.084) - 5.381, 0) ^ 2 ELSE 0 END) / count(*) AS hbgi
FROM readings GROUP BY ALL
"""


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
        con.execute(BASELINE_DAILY.format(files=files))
        daily_sql = time.perf_counter() - loaded
    (rows,) = con.execute("SELECT count(*) FROM lake.gold.daily_glucose").fetchone()
    print_row(f"baseline: read_json + daily SQL ({rows:,} daily rows)", n_subjects * n_days, m, "subject-days")
    print(f"    load {m.seconds - daily_sql:.1f} s, daily SQL {daily_sql:.1f} s", flush=True)
    return m, daily_sql


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
    # lineage; the baseline: one SQL statement for gold.daily_glucose's metrics).
    print(f"  after loading raw: ours {after_ingestion:.1f} s (bronze, silver, gold, checks), "
          f"baseline {base_sql:.1f} s (daily SQL): {after_ingestion / base_sql:.1f}x")
    print(f"  one new day / full build time: {incremental.seconds / full.seconds:.0%} (target <= 10%)")


if __name__ == "__main__":
    main()
