"""Command line: `python -m lake doctor` (health check), `report` (results), `maintain` (upkeep)."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lake", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", help="check that the configured lake is reachable and writable")
    report = commands.add_parser("report", help="where the results are, and one line per subject of the "
                                 "default period once built, else of the period built last (or of --start .. "
                                 "--end)")
    report.add_argument("--start", type=date.fromisoformat,
                        help="first local day of a built period (YYYY-MM-DD)")
    report.add_argument("--end", type=date.fromisoformat, help="its last local day (YYYY-MM-DD)")
    maintain = commands.add_parser("maintain", help="DuckLake upkeep: merge small files, expire old snapshots, "
                                   "delete unused files (on SQLite: only while no build runs)")
    maintain.add_argument("--retention-days", type=float, default=7, help="keep snapshots this young (7)")
    maintain.add_argument("--file-grace-hours", type=float, default=1,
                          help="delete unused files only once this old (1)")
    maintain.add_argument("--delete-threshold", type=float, default=0,
                          help="rewrite files whose deleted fraction exceeds this (0: any)")
    args = parser.parse_args(argv)
    if args.command == "report" and (args.start is None) != (args.end is None):
        parser.error("report: give both --start and --end, or neither")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "doctor":
        from lake import doctor

        return doctor.run()
    if args.command == "maintain":
        from lake import maintenance

        return maintenance.run(retention_days=args.retention_days, file_grace_hours=args.file_grace_hours,
                               delete_threshold=args.delete_threshold)
    if args.command == "report":
        from lake import report

        return report.run(period=(args.start, args.end) if args.start else None)
    return 2


if __name__ == "__main__":
    sys.exit(main())
