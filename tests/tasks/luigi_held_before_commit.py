"""`luigi --module tasks ...` exactly as users run it, except that committing a raw batch first
writes a file and then waits forever: the crash test kills the process at that known point, with
raw rows landed by dlt and their batch not yet committed.

Test-only. Polling the lake from outside for that moment lost the race whenever the load and the
commit followed each other faster than a poll; this makes the crash point certain.

Usage: python -m tests.tasks.luigi_held_before_commit SIGNAL_FILE [luigi arguments...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from luigi.cmdline import luigi_run

import lake.ingest


def main(signal_file: Path, luigi_args: list[str]) -> None:
    def held_commit(*_args, **_kwargs) -> None:
        signal_file.write_text("raw rows landed; commit held\n")
        while True:
            time.sleep(60)

    lake.ingest.commit = held_commit
    luigi_run(luigi_args)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
