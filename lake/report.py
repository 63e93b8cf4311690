"""lake.report: where the results are, and one line per subject of the latest built period.

`python -m lake report` (the README's main command runs it after BuildGold). Exit code: 0 results
shown, 1 nothing to show yet or the lake cannot be read, 2 bad configuration.
"""

from __future__ import annotations

import sys

import duckdb

from lake import catalog
from lake.config import ConfigError, Settings

BUILD = "run `luigi --module tasks BuildGold --local-scheduler` from the project folder"


def run(settings: Settings | None = None, out=sys.stdout, err=sys.stderr) -> int:
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
    rows = catalog.query(lake, f"""
        SELECT * FROM {catalog.qualified('gold.glucose_summary')}
        QUALIFY period_end = max(period_end) OVER () AND period_start = max(period_start) OVER (PARTITION BY period_end)
        ORDER BY subject_id""").to_pylist()
    if not rows:
        print("no subject has glucose readings in any period built so far (were --start and --end "
              "days with data?)", file=err)
        return 1
    print(f"period        {rows[0]['period_start']} .. {rows[0]['period_end']} (local days)", file=out)
    for r in rows:
        print(f"  {r['subject_id']:<16} TIR {_f(r['pct_70_180'])}%  below 70 {_f(r['pct_below_70'])}%  "
              f"above 180 {_f(r['pct_above_180'])}%  mean {_f(r['mean_mg_dl'], 0)} mg/dL  "
              f"GMI {_f(r['gmi_pct'])}%  CV {_f(r['cv_pct'])}%  active {_f(r['active_pct'], 0)}%", file=out)
    return 0


def _f(value, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
