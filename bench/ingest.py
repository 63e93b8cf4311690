"""Ingestion benchmark: N simulated subjects x D days into raw, beside DuckDB's own read_json.

    python -m bench.ingest --subjects 10 --days 90
    python -m bench.ingest --subjects 50 --days 365

Our path is what each IngestNightscout task runs (lake.ingest.ingest, `subjects_per_task` subjects
per batch): generate the documents with the simulated sites, Arrow tables, one dlt run per batch,
one commit. The reference is the fastest plain way to put the same documents into the same kind
of lake (SQLite catalog, local Parquet): DuckDB's read_json over NDJSON files of those documents
(written beforehand, not timed), `CREATE TABLE ... AS SELECT` in one statement per resource.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from pathlib import Path

from bench.common import days, env_for, fresh_home, measure, print_row, python_info, subjects, write_ndjson
from lake import catalog, ingest
from lake.config import Settings

RESOURCES = ("entries", "treatments", "devicestatus")


def ours(root: Path, n_subjects: int, n_days: int, per_task: int) -> int:
    settings = Settings.from_env(env_for(fresh_home(root, "ours")))
    lake = catalog.connect(settings)
    sources, day_list = subjects(n_subjects), days(n_days)
    total = 0
    with measure() as m:
        for i in range(0, len(sources), per_task):
            batch = ingest.ingest(settings, lake, sources[i:i + per_task], day_list)
            total += sum(batch.total(r) for r in RESOURCES)
    print_row(f"lake.ingest (dlt, Arrow, {per_task} subjects/batch)", total, m)
    return total, m


def reference(root: Path, n_subjects: int, n_days: int) -> int:
    files = root / "ndjson"
    counts = write_ndjson(subjects(n_subjects), days(n_days), files)
    settings = Settings.from_env(env_for(fresh_home(root, "reference")))
    lake = catalog.connect(settings)
    con = catalog.raw_connection(lake)
    with measure() as m:
        for r in RESOURCES:
            con.execute(f"""CREATE TABLE lake.raw.{r} AS
                SELECT subject_id, window_day, doc->>'$._id' AS doc_id, doc::VARCHAR AS document
                FROM read_json('{files}/{r}-*.ndjson', format = 'newline_delimited',
                               columns = {{subject_id: 'VARCHAR', window_day: 'DATE', doc: 'JSON'}})""")
    total = sum(counts.values())
    print_row("reference: DuckDB read_json (NDJSON on disk)", total, m)
    return total, m


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=10)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--per-task", type=int, default=10, help="subjects per ingestion batch ([ingest] subjects_per_task)")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    root = args.workdir or Path(tempfile.mkdtemp(prefix="lake-bench-"))
    print(f"ingestion: {args.subjects} subjects x {args.days} days   ({python_info()}, work dir {root})")
    ref_docs, ref = reference(root, args.subjects, args.days)
    our_docs, our = ours(root, args.subjects, args.days, args.per_task)
    assert ref_docs == our_docs, (ref_docs, our_docs)
    print(f"  ours / reference rate: {(our_docs / our.seconds) / (ref_docs / ref.seconds):.0%}")


if __name__ == "__main__":
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    main()
