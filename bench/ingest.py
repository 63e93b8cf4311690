"""Ingestion benchmark: N simulated subjects x D days into raw, beside DuckDB's own read_json.

    python -m bench.ingest --subjects 10 --days 90
    python -m bench.ingest --subjects 50 --days 365

The reference is the fastest plain way to put the same documents into the same kind of lake
(SQLite catalog, local Parquet): DuckDB's read_json over NDJSON files of those documents (written
beforehand, not timed), `CREATE TABLE ... AS SELECT` in one statement per resource.

Ours is what each IngestNightscout task runs (lake.ingest.ingest, `subjects_per_task` subjects per
batch): each subject-day's documents to raw rows with their content hash, one dlt run per batch,
one commit. It is timed twice:
  - documents ready: the documents were made before the clock starts, as the reference's are,
    and each site's day is read from an Arrow file (bench.common.PreparedSite), so both sides time
    loading the same documents and nothing else (a live site's server, not the ingestion, spends
    the time making its documents);
  - end to end: the simulated sites generate the documents while they are read, as in a demo run.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from pathlib import Path

from bench.common import (
    Measured, PreparedSite, days, env_for, fresh_home, measure, prepared_folder, print_row, python_info, subjects,
    write_ndjson, write_prepared,
)
from lake import catalog, ingest
from lake.config import Settings
from lake.sources import WINDOWED


def ours(root: Path, n_subjects: int, n_days: int, per_task: int, *, ready: bool) -> tuple[int, Measured]:
    settings = Settings.from_env(env_for(fresh_home(root, "ours-ready" if ready else "ours")))
    lake = catalog.connect(settings)
    sources, day_list = subjects(n_subjects), days(n_days)
    folder = prepared_folder(root, day_list)
    if ready:
        write_prepared(sources, day_list, folder)
    total, seconds, peak_mb = 0, 0.0, 0.0
    for i in range(0, len(sources), per_task):
        group = ([PreparedSite(s, day_list, folder) for s in sources[i:i + per_task]] if ready
                 else sources[i:i + per_task])
        with measure() as m:
            batch = ingest.ingest(settings, lake, group, day_list)
        total += sum(batch.total(r) for r in WINDOWED)
        seconds, peak_mb = seconds + m.seconds, max(peak_mb, m.peak_rss_mb)
    m = Measured(seconds, peak_mb)
    how = "documents ready" if ready else "end to end, sites generating"
    print_row(f"lake.ingest, {how}", total, m)
    return total, m


def reference(root: Path, n_subjects: int, n_days: int) -> tuple[int, Measured]:
    files = root / "ndjson"
    counts = write_ndjson(subjects(n_subjects), days(n_days), files)
    settings = Settings.from_env(env_for(fresh_home(root, "reference")))
    lake = catalog.connect(settings)
    con = catalog.raw_connection(lake)
    with measure() as m:
        for r in WINDOWED:
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
    print(f"  ({args.per_task} subjects per ingestion batch)")
    ref_docs, ref = reference(root, args.subjects, args.days)
    our_docs, our = ours(root, args.subjects, args.days, args.per_task, ready=False)
    ready_docs, ready = ours(root, args.subjects, args.days, args.per_task, ready=True)
    assert ref_docs == ready_docs == our_docs, (ref_docs, ready_docs, our_docs)
    print(f"  ours / reference rate, documents ready: {(ready_docs / ready.seconds) / (ref_docs / ref.seconds):.0%}"
          f"   end to end: {(our_docs / our.seconds) / (ref_docs / ref.seconds):.0%}")


if __name__ == "__main__":
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    main()
