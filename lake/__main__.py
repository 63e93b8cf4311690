"""Command line: `python -m lake doctor` (health check) and `python -m lake report` (results)."""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lake", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", help="check that the configured lake is reachable and writable")
    commands.add_parser("report", help="where the results are, and one line per subject of the latest period")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "doctor":
        from lake import doctor

        return doctor.run()
    if args.command == "report":
        from lake import report

        return report.run()
    return 2


if __name__ == "__main__":
    sys.exit(main())
