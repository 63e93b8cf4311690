"""lake.ingest: Nightscout documents into the lake's `raw` schema with dlt, per subject and UTC day.

Tables (one row per source document, as the site sent it):
  raw.entries, raw.treatments, raw.devicestatus: subject_id, window_day (the UTC day whose window
      the document was fetched in), doc_id (`_id`), document (the JSON text), batch_id, fetched_at.
  raw.profile: the same columns; window_day is the day of the fetch (profiles have no time filter).
Documents are kept as JSON text on purpose: a missing or seconds-scale date, an sgv sent as a
string or an unknown field must land exactly as it came and never break a load; bronze types them.

How a batch lands, and why it is safe to re-run or kill at any point:
  1. the sources are read day by day; each day becomes Arrow tables (not dicts: dlt then skips its
     normaliser, about 10x faster) streamed into ONE dlt run for the whole batch, so dlt's fixed
     cost (about 1.5 s a run) is paid once per batch and memory stays bounded;
  2. dlt appends the rows to raw.* tagged with a new batch_id (appends never conflict);
  3. one DuckLake transaction then deletes the batch's subjects' older rows for those days (of
     earlier committed batches, and what a run killed more than ABANDONED_AFTER ago left), records
     the batch and each day's content hash in meta, and writes the Luigi marker: one snapshot, so
     a crash leaves the previous state.
  Readers (bronze) only see rows of committed batches (meta.ingest_batches). A batch never deletes
  another's rows that are not committed yet: two runs over overlapping days at the same time (a
  scheduled build beside an on-demand one) each land their own rows, and whichever commits last
  holds those days, as its content hashes in meta say. Two commits never run side by side: each
  replaces the one row of meta.raw_commit_token, and of two transactions deleting the same row
  DuckLake commits one and fails the other, which runs again from the top and then sees the first
  batch as committed (without this, two commits at the same moment on PostgreSQL each missed the
  other's batch and both copies of the days stayed).
dlt runs in a fresh working directory each time, so a failed earlier load can never make the
next run load a stale package instead of its own data (stack-facts §2.5).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa

from lake import catalog
from lake.config import Settings
from lake.sources import WINDOWED, DocumentSource, serialize

# dlt must never phone home (no network at run time besides the sites and the object store), and
# its state lives in the lake's own meta tables, not in dlt's.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RESTORE_FROM_DESTINATION", "false")
# dlt's load files are local and short-lived: written once, read once by the INSERT into raw, then
# deleted with their working directory. Snappy-compressing them cost more than it saved: a site's
# year (2.3 M documents) landed in 6.5-6.8 s instead of 7.2-8.3 s, for about 4x the temporary disk (1.1 GB
# instead of 0.27 GB at its largest). The lake's own Parquet files are compressed as before.
os.environ.setdefault("DATA_WRITER__COMPRESSION", "none")

log = logging.getLogger(__name__)

RESOURCES = (*WINDOWED, "profile")
# Rows of a batch that has not committed this long after it started fetching are a killed run's:
# a running batch lands its rows only after fetching everything, which over a slow site can take
# hours, even days, for a long backfill. Until then they are invisible to readers, and only cost
# disk; the next commit of their days, or maintenance (delete_abandoned), deletes them.
ABANDONED_AFTER = timedelta(days=7)
# The batches readers see: committed ones (meta.ingest_batches).
COMMITTED_BATCHES = f"(SELECT batch_id FROM {catalog.qualified('meta.ingest_batches')})"
RAW_SCHEMA = pa.schema([
    ("subject_id", pa.string()),
    ("window_day", pa.date32()),
    ("doc_id", pa.string()),
    ("document", pa.string()),
    ("batch_id", pa.string()),
    ("fetched_at", pa.timestamp("us", tz="UTC")),
])
class IngestError(RuntimeError):
    """Landing a batch failed; the message names the subjects and days (never a secret)."""


@dataclass
class Batch:
    """One ingestion run: some subjects' documents for some UTC days, landed as one unit."""

    subjects: list[str]
    days: list[date]
    batch_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (subject, resource) -> rows
    day_hashes: list[tuple[str, date, str, str, int]] = field(default_factory=list)

    def land(self, subject: str, day: date, resource: str, documents: pa.Table) -> pa.Table:
        """The raw rows of one subject-day's documents of one resource (`serialize`'s columns),
        recorded in the batch."""
        n = documents.num_rows
        self.counts[subject, resource] = self.counts.get((subject, resource), 0) + n
        if resource in WINDOWED:
            # Order-independent digest of the day's documents: equal hash = the day did not change.
            # (str order is UTF-8 byte order, so this is the digest of the sorted JSON bytes.)
            texts = sorted(documents.column("document").to_pylist())
            self.day_hashes.append((subject, day, resource, hashlib.sha256("\n".join(texts).encode()).hexdigest(), n))
        return pa.Table.from_arrays([
            pa.repeat(pa.scalar(subject, pa.string()), n),
            pa.repeat(pa.scalar(day, pa.date32()), n),
            documents.column("doc_id"),
            documents.column("document"),
            pa.repeat(pa.scalar(self.batch_id, pa.string()), n),
            pa.repeat(pa.scalar(self.fetched_at, pa.timestamp("us", tz="UTC")), n),
        ], schema=RAW_SCHEMA)

    def total(self, resource: str) -> int:
        return sum(n for (_, r), n in self.counts.items() if r == resource)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def day_bounds_ms(day: date) -> tuple[int, int]:
    """The UTC day's half-open window in epoch ms, as sources are asked for it."""
    start, end = day_bounds(day)
    return int(start.timestamp()) * 1000, int(end.timestamp()) * 1000


def read_days(batch: Batch, sources: Sequence[DocumentSource],
              progress: Callable[[int, int, str], None] | None = None,
              rows_per_table: int = 250_000) -> Iterator[pa.Table]:
    """Yield Arrow tables (marked with their raw table name) source by source, day by day.

    Days are gathered into tables of about `rows_per_table` rows: dlt's cost is per item, so a
    table per day would make it several times slower; a cap keeps memory bounded.
    """
    import dlt

    pending: dict[str, list[pa.Table]] = {r: [] for r in RESOURCES}
    pending_rows = dict.fromkeys(RESOURCES, 0)

    def flush(resource: str) -> Iterator[pa.Table]:
        if pending[resource]:
            yield dlt.mark.with_table_name(pa.concat_tables(pending[resource]), resource)
            pending[resource], pending_rows[resource] = [], 0

    steps, done = len(sources) * len(batch.days), 0
    for source in sources:
        for day in batch.days:
            start, end = day_bounds_ms(day)
            for resource in WINDOWED:
                table = batch.land(source.subject, day, resource, source.serialized(resource, start, end))
                if table.num_rows:
                    pending[resource].append(table)
                    pending_rows[resource] += table.num_rows
                if pending_rows[resource] >= rows_per_table:
                    yield from flush(resource)
            done += 1
            if progress and (done % 7 == 0 or done == steps):
                progress(done, steps, f"{source.subject} {day}: {batch.total('entries')} entries so far")
        profiles = batch.land(source.subject, batch.fetched_at.date(), "profile", serialize(source.profiles()))
        if profiles.num_rows:
            pending["profile"].append(profiles)
    for resource in RESOURCES:
        yield from flush(resource)


def land(settings: Settings, batch: Batch, tables: Iterator[pa.Table], *, attempts: int = 8) -> None:
    """Stream `tables` into raw.* with one dlt run (rows not yet visible to readers: uncommitted).

    A load that fails for a passing reason (parallel loads racing to create dlt's tables in a new
    lake, SQLite's "database is locked") is loaded again from the package dlt already extracted:
    nothing is fetched twice, and rows of a half-done attempt are superseded at commit.
    """
    import dlt
    from dlt.pipeline.helpers import retry_load, retry_schema_update

    transient = [retry_schema_update(), retry_load(("load",))]
    resource = dlt.resource(tables, name="nightscout", write_disposition="append")
    with tempfile.TemporaryDirectory(prefix="lake-dlt-") as workdir:
        pipeline = dlt.pipeline(pipeline_name="nightscout_ingest", pipelines_dir=workdir,
                                destination=catalog.dlt_destination(settings), dataset_name="raw")
        try:
            pipeline.run(resource)
            return
        except Exception as exc:  # dlt wraps everything, source errors included
            failure: Exception = exc
        for attempt in range(1, attempts):
            if not _is_passing(failure, transient):
                break
            log.info("loading raw batch %s: passing failure (attempt %d/%d), loading again: %s",
                     batch.batch_id, attempt, attempts,
                     catalog.redact(str(_root_cause(failure)), settings.catalog)[:200])
            time.sleep(min(5.0, 0.2 * 2 ** attempt))
            try:
                pipeline.load()
                return
            except Exception as exc:
                failure = exc
        cause = _root_cause(failure)
        if _is_source_error(cause):
            raise cause from None
        # The root cause, not dlt's wrapper: that one says "step=load" and offers a re-run of a
        # package that lives in a temporary directory.
        raise IngestError(
            f"loading {', '.join(batch.subjects)} days {batch.days[0]}..{batch.days[-1]} into raw "
            f"failed: {type(cause).__name__}: {catalog.redact(str(cause), settings.catalog)}") from None


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    return exc


def _is_passing(failure: BaseException, transient) -> bool:
    """Whether loading again can succeed: dlt says the step may be retried AND the cause is one of
    the lake's passing conflicts (catalog.RETRYABLE). dlt counts every I/O error as transient; a
    wrong S3 secret or a full disk would otherwise be loaded again and again for minutes."""
    cause = _root_cause(failure)
    return (not _is_source_error(cause) and any(check(failure) for check in transient)
            and catalog.RETRYABLE.search(str(cause)) is not None)


def _is_source_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("lake.sources")


def commit(lake, batch: Batch, marker: catalog.Marker | None = None) -> None:
    """Make the batch the current raw data of its subjects and days, in one snapshot."""
    first, last = batch.days[0], batch.days[-1]
    batches = pa.table({"batch_id": [batch.batch_id] * len(batch.subjects), "subject_id": batch.subjects,
                        "days": [batch.days] * len(batch.subjects),
                        **{f"n_{r}": [batch.counts.get((s, r), 0) for s in batch.subjects] for r in RESOURCES}})
    versions = pa.table({name: [row[i] for row in batch.day_hashes] for i, name in enumerate(
        ("subject_id", "day", "resource", "content_hash", "n_documents"))})

    def work(con) -> None:
        # Replaced by every commit, so that two at once conflict and take turns (see the docstring).
        token = catalog.qualified("meta.raw_commit_token")
        con.execute(f"DELETE FROM {token}")
        con.execute(f"INSERT INTO {token} VALUES (?, now())", [batch.batch_id])
        for resource in RESOURCES:
            name = f"raw.{resource}"
            if not catalog.table_exists(lake, name):
                continue
            # Range predicates first: DuckLake prunes files by their min/max statistics. Only
            # committed rows, or abandoned ones: another batch may be landing these days right now.
            where = (f"list_contains(?, subject_id) AND batch_id <> ? "
                     f"AND (batch_id IN {COMMITTED_BATCHES} OR fetched_at < ?)")
            params: list = [batch.subjects, batch.batch_id, batch.fetched_at - ABANDONED_AFTER]
            if resource in WINDOWED:
                where = f"window_day BETWEEN ? AND ? AND list_contains(?, window_day) AND {where}"
                params = [first, last, batch.days, *params]
            _delete_any(con, name, where, params)
        con.register("_batches", batches)
        con.register("_versions", versions)
        try:
            con.execute(f"INSERT INTO {catalog.qualified('meta.ingest_batches')} SELECT batch_id, subject_id, "
                        "days, n_entries, n_treatments, n_devicestatus, n_profile, now() FROM _batches")
            con.execute(f"INSERT INTO {catalog.qualified('meta.raw_day_versions')} SELECT subject_id, day, "
                        "resource, content_hash, n_documents, ?, now() FROM _versions", [batch.batch_id])
        finally:
            con.unregister("_batches")
            con.unregister("_versions")
        if marker is not None:
            catalog.write_marker(con, marker)

    catalog.in_transaction(lake, work, what=f"committing raw batch {batch.batch_id}")


def ingest(settings: Settings, lake, sources: Sequence[DocumentSource], days: Sequence[date], *,
           progress: Callable[[int, int, str], None] | None = None,
           marker: catalog.Marker | None = None) -> Batch:
    """Fetch, land and commit `days` (UTC) of every source as one batch. Returns the batch."""
    for source in sources:
        source.verify()  # a wrong credential fails here, before anything is written
    batch = Batch([s.subject for s in sources], sorted(set(days)))
    if not batch.days:  # another process fetched them meanwhile: the run is done, and says so
        if marker is not None:
            catalog.in_transaction(lake, lambda con: catalog.write_marker(con, marker),
                                   what="writing an ingestion marker")
        return batch
    started = time.monotonic()
    with catalog.lent_to_dlt(lake, settings):
        land(settings, batch, read_days(batch, sources, progress))
    commit(lake, batch, marker)
    log.info("raw batch %s: %s, %d days, %d entries in %.1fs", batch.batch_id, ", ".join(batch.subjects),
             len(batch.days), batch.total("entries"), time.monotonic() - started)
    return batch


def delete_abandoned(lake, now: datetime | None = None) -> int:
    """Delete the raw rows of batches that never committed and began more than ABANDONED_AFTER
    before `now` (default: now): a killed run's. The run after it lands the same days but leaves
    them, as they could be another run's still landing; past days are not fetched again, so
    without this they would stay. One transaction; returns the number of rows deleted."""
    cutoff = (now or datetime.now(UTC)) - ABANDONED_AFTER

    def work(con) -> int:
        abandoned = f"fetched_at < ? AND batch_id NOT IN {COMMITTED_BATCHES}"
        return sum(_delete_any(con, f"raw.{resource}", abandoned, [cutoff])
                   for resource in RESOURCES if catalog.table_exists(lake, f"raw.{resource}"))

    return catalog.in_transaction(lake, work, what="deleting abandoned raw rows")


def _delete_any(con, table: str, where: str, params: list) -> int:
    """DELETE FROM `table` WHERE `where`, only when a row matches; returns the rows deleted. A
    DELETE that would delete nothing is not run: it keeps first-time backfills free of
    DELETE-vs-INSERT conflicts with other tasks' concurrent loads."""
    target = catalog.qualified(table)
    (n,) = con.execute(f"SELECT count(*) FROM {target} WHERE {where}", params).fetchone()
    if n:
        con.execute(f"DELETE FROM {target} WHERE {where}", params)
    return n


def days_to_fetch(lake, subjects: Sequence[str], first: date, last: date, *,
                  overlap: timedelta = timedelta(hours=48),
                  fresh_since: datetime | None = None) -> dict[str, list[date]]:
    """Per subject, the UTC days of [first, last] to fetch: never committed, or last fetched before
    the day was `overlap` old (uploaders send late: bridges, phone sync), unless that last fetch
    was at or after `fresh_since`. One query, however long the range: the Luigi scheduler asks
    this of every ingestion task again and again while it plans."""
    pending: dict[str, list[date]] = {subject: [] for subject in subjects}
    if last < first or not subjects:
        return pending
    never = 2**62  # epoch ms far beyond any commit: without `fresh_since`, no fetch is recent enough
    since_ms = never if fresh_since is None else int(fresh_since.timestamp() * 1000)
    rows = catalog.query(lake, f"""
        SELECT s.subject_id, d.day
        FROM unnest(?::VARCHAR[]) AS s(subject_id)
        CROSS JOIN (SELECT unnest(generate_series(?::DATE, ?::DATE, INTERVAL 1 DAY))::DATE AS day) AS d
        ANTI JOIN (
            SELECT subject_id, day FROM {catalog.qualified('meta.raw_day_versions')}
            WHERE day BETWEEN ? AND ? AND list_contains(?, subject_id) AND resource = 'entries'
            GROUP BY ALL
            HAVING max(epoch_ms(committed_at)) >= epoch_ms(day::TIMESTAMP) + 86400000 + ?
                OR max(epoch_ms(committed_at)) >= ?
        ) AS fresh USING (subject_id, day)
        ORDER BY 1, 2""",
        [list(subjects), first, last, first, last, list(subjects), overlap // timedelta(milliseconds=1),
         since_ms]).to_pylist()
    for row in rows:
        pending[row["subject_id"]].append(row["day"])
    return pending
