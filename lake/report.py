"""lake.report: where the results are, and one line per subject of a built period: the
consensus's core metrics (time in ranges, mean, GMI, CV) and how much data stands behind them.

`python -m lake report` (the README's main command runs it after BuildGold) shows the default
period (the 14 days ending yesterday, which BuildGold builds when given none) once it is built;
before that, the period with results that BuildGlucoseSummary built last. (A run that finds its
period up to date does not run, so it leaves no trace to go by: the default period comes first.)
`python -m lake report --start D --end D` shows any built period. Exit code: 0 results shown, 1
nothing to show yet or the lake cannot be read, 2 bad configuration.
"""

from __future__ import annotations

import json
import sys
from datetime import date

import duckdb

from lake import catalog
from lake.config import ConfigError, Settings, default_period
from lake.transforms.gold.glucose_summary import SUFFICIENT_ACTIVE_PCT, SUFFICIENT_DAYS

BUILD = "run `luigi --module tasks BuildGold --local-scheduler` from the project folder"


def run(settings: Settings | None = None, out=sys.stdout, err=sys.stderr,
        period: tuple[date, date] | None = None) -> int:
    try:
        settings = settings or Settings.from_env()
    except ConfigError as exc:
        print(f"configuration ERROR: {exc}", file=err)
        return 2
    print(f"lake catalog  {settings.catalog.display()}", file=out)
    print(f"lake data     {settings.data_path}", file=out)
    if settings.catalog.path is not None and not settings.catalog.path.exists():
        print(f"no lake here yet: {BUILD}", file=err)
        return 1
    try:
        lake = catalog.connect(settings, read_only=True)
    except (catalog.LakeError, duckdb.Error) as exc:
        print(f"lake ERROR: {catalog.redact(str(exc), settings.catalog)}", file=err)
        return 1
    if not catalog.table_exists(lake, "gold.glucose_summary"):
        print(f"no gold tables yet: {BUILD}", file=err)
        return 1
    tables = sorted(t for t in catalog.tables(catalog.raw_connection(lake))
                    if t.partition(".")[0] in ("bronze", "silver", "gold"))
    print(f"tables        {', '.join(tables)}", file=out)
    chosen = period or _period_to_show(lake)
    if chosen is None:
        print("no subject has glucose readings in any period built so far (were --start and --end "
              "days with data?)", file=err)
        return 1
    start, end = chosen
    rows = catalog.query(lake, f"""
        SELECT * FROM {catalog.qualified('gold.glucose_summary')} WHERE period_start = ? AND period_end = ?
        ORDER BY subject_id""", [start, end]).to_pylist()
    if not rows:
        print(f"no subject has glucose readings in the period {start} .. {end} (was it built, and were "
              "its days ones with data?)", file=err)
        return 1
    period_days = (end - start).days + 1
    print(f"period        {start} .. {end} (local days: {period_days})", file=out)
    width = max(16, *(len(r["subject_id"]) for r in rows))
    print(f"  {'':<{width}}" + "".join(f"{title:>{CELL}}" for title, _, _, _ in COLUMNS), file=out)
    print(f"  {'':<{width}}" + "".join(f"{unit:>{CELL}}" for _, unit, _, _ in COLUMNS), file=out)
    short = False
    for r in rows:
        values = [_days(r, period_days) if column == "days" else _f(r.get(column), digits)
                  for _, _, column, digits in COLUMNS]
        flag = r.get("sufficient_data") is False
        short |= flag
        print(f"  {r['subject_id']:<{width}}" + "".join(f"{v:>{CELL}}" for v in values)
              + ("  !" if flag else ""), file=out)
    for subject in _without_readings(lake, {r["subject_id"] for r in rows}):
        print(f"  {subject:<{width}} no readings in this period", file=out)
    if short:
        print(f"  ! fewer than {SUFFICIENT_DAYS} days, or the CGM active under {SUFFICIENT_ACTIVE_PCT:.0f}% "
              "of the period: below the consensus minimum for these metrics", file=out)
    return 0


# Column title, unit, gold.glucose_summary column ("days": days with readings / period days),
# decimals. Both severe bands are shown beside their cumulative ones (<54 is part of <70, >250 of
# >180), as the consensus sets a target for each; "active" is the CGM's coverage of the whole period.
COLUMNS = [("TIR", "%", "pct_70_180", 1), ("<70", "%", "pct_below_70", 1), ("<54", "%", "pct_below_54", 1),
           (">180", "%", "pct_above_180", 1), (">250", "%", "pct_above_250", 1),
           ("mean", "mg/dL", "mean_mg_dl", 0), ("GMI", "%", "gmi_pct", 1), ("CV", "%", "cv_pct", 1),
           ("days", "", "days", 0), ("active", "%", "period_active_pct", 0)]
CELL = 7  # characters per column, right-aligned


def _period_to_show(lake) -> tuple[date, date] | None:
    """The default period if it has results, else the one with results built last (its latest
    BuildGlucoseSummary marker; by hand, without markers: the one that ends last). None: no results."""
    built = catalog.query(lake, f"""
        SELECT DISTINCT period_start, period_end
        FROM {catalog.qualified('gold.glucose_summary')}""").to_pylist()
    periods = {(row["period_start"], row["period_end"]) for row in built}
    if not periods:
        return None
    default = default_period()
    if default in periods:
        return default
    markers = catalog.query(lake, f"""
        SELECT parameters FROM {catalog.qualified('meta.task_markers')}
        WHERE task_family = 'BuildGlucoseSummary' ORDER BY written_at DESC""")
    for parameters in map(json.loads, markers.column("parameters").to_pylist()):
        marked = date.fromisoformat(parameters["start"]), date.fromisoformat(parameters["end"])
        if marked in periods:
            return marked
    return max(periods, key=lambda p: (p[1], p[0]))


def _days(row: dict, period_days: int) -> str:
    days = row.get("days_with_readings")
    return "n/a" if days is None else f"{days}/{period_days}"


def _without_readings(lake, shown: set[str]) -> list[str]:
    """Subjects ingested into the lake that have no row for the period (no readings in it)."""
    if not catalog.table_exists(lake, "meta.ingest_batches"):
        return []
    batches = catalog.qualified("meta.ingest_batches")
    subjects = catalog.query(lake, f"SELECT DISTINCT subject_id FROM {batches}")
    return sorted(set(subjects.column("subject_id").to_pylist()) - shown)


def _f(value, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
