"""lake.lineage: which partitions of a derived table are out of date, and why.

Every derived table (bronze, silver, gold) is a deterministic function of raw. Raw records, per
(subject, UTC day, resource), a content hash of that day's documents (meta.raw_day_versions). A
partition of a derived table depends on a known window of raw days (its own day +- the days that
can reach it through local time and de-duplication), so its *signature* is the table's code
version (its transform's and those of the tables it is made from: a changed transform rebuilds
everything downstream of it too) + the hash of the latest content hashes of those raw days
("<version>:<sha256>"). A partition is stale when its current signature differs from the one
recorded when it was last built (meta.built_partitions). So a day whose raw data changed rebuilds
exactly the partitions that can see it, unchanged inputs rebuild nothing, and re-fetching identical
documents changes nothing.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa

from lake import catalog


@dataclass(frozen=True)
class Partition:
    subject_id: str
    part: str  # a day (YYYY-MM-DD) or a period (YYYY-MM-DD..YYYY-MM-DD)
    raw_days: tuple[date, ...]  # the raw UTC days it is built from, consecutive

    def __hash__(self) -> int:
        # Hashed once: a table's 18k partitions key the memos and dicts below, and the generated
        # hash went through every raw day each time (a million hashes per daily run).
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash((self.subject_id, self.part, self.raw_days))
            object.__setattr__(self, "_hash", cached)
        return cached


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


def day_partitions(subjects: Iterable[str], part_days: Sequence[date], reach: int) -> list[Partition]:
    """One partition per (subject, day), built from raw days day-reach .. day+reach. Callers must
    not modify the list: tables with the same subjects, days and reach share it (a year of 50
    subjects is 18k partitions, and the memos below then find equal keys by identity)."""
    return _day_partitions(tuple(subjects), tuple(part_days), reach)


@functools.lru_cache(maxsize=16)
def _day_partitions(subjects: tuple[str, ...], part_days: tuple[date, ...], reach: int) -> list[Partition]:
    # Each day's name and raw window once, shared by every subject's partition of that day.
    windows = [(d.isoformat(), tuple(days(d - timedelta(reach), d + timedelta(reach)))) for d in part_days]
    return [Partition(s, name, window) for s in subjects for name, window in windows]


def period_partitions(subjects: Iterable[str], start: date, end: date, reach: int) -> list[Partition]:
    """One partition per subject for the whole period [start, end]."""
    raw = tuple(days(start - timedelta(reach), end + timedelta(reach)))
    return [Partition(s, f"{start}..{end}", raw) for s in subjects]


def _raw_versions_at(lake, state: tuple, first: date, last: date) -> dict[tuple[str, date], str]:
    return _remembered(_raw_versions_memo, (catalog.raw_connection(lake), state, first, last),
                       lambda: _raw_versions(lake, first, last))


def _raw_versions(lake, first: date, last: date) -> dict[tuple[str, date], str]:
    if not catalog.table_exists(lake, "meta.raw_day_versions"):
        return {}
    rows = catalog.query(lake, f"""
        SELECT subject_id, day, string_agg(resource || '=' || content_hash, ';' ORDER BY resource) AS v
        FROM (SELECT subject_id, day, resource, arg_max(content_hash, committed_at) AS content_hash
              FROM {catalog.qualified('meta.raw_day_versions')} WHERE day BETWEEN ? AND ? GROUP BY ALL)
        GROUP BY ALL""", [first, last]).to_pylist()
    return {(r["subject_id"], r["day"]): r["v"] for r in rows}


# Luigi asks every table task whether it is complete again and again while it plans (each table
# checks its upstream tables first), and each answer needs the signatures of thousands of
# partitions (a year of 50 subjects: 18k). They change only when ingestion commits, so the last
# answers are remembered per connection, keyed by the state of meta.raw_day_versions: its row
# count and newest commit (every commit adds rows stamped with the time of the commit).
_raw_versions_memo: dict[tuple, dict] = {}
_day_cells_memo: dict[tuple, dict] = {}
_content_memo: dict[tuple, dict] = {}
_signatures_memo: dict[tuple, dict] = {}
MEMO_SIZE = 32


def _raw_state(lake) -> tuple[int, object]:
    if not catalog.table_exists(lake, "meta.raw_day_versions"):
        return (0, None)
    (n, newest), = catalog.raw_connection(lake).execute(
        f"SELECT count(*), max(committed_at) FROM {catalog.qualified('meta.raw_day_versions')}").fetchall()
    return (n, newest)


def _remembered(memo: dict[tuple, dict], key: tuple, compute) -> dict:
    """memo[key], computed on a miss; the oldest entry goes when the memo is full. Callers must
    not modify what they get."""
    if key not in memo:
        if len(memo) >= MEMO_SIZE:
            del memo[next(iter(memo))]
        memo[key] = compute()
    return memo[key]


def signatures(lake, version: str, partitions: Sequence[Partition]) -> dict[Partition, str]:
    """Each partition's current signature for a table at code version `version` (remembered, and
    shared by the tables of a layer at the same version: see content_signatures)."""
    if not partitions:
        return {}
    con, state, parts = catalog.raw_connection(lake), _raw_state(lake), tuple(partitions)
    prefix = f"{version}:"
    return _remembered(_signatures_memo, (con, state, version, parts), lambda: {
        p: prefix + content for p, content in _content_at(lake, state, parts).items()})


def content_signatures(lake, partitions: Sequence[Partition]) -> dict[Partition, str]:
    """The hash of the raw content behind each partition, whatever table it belongs to: the tables
    of a layer share their partitions (same subjects, days and reach), so a run works it out once
    per layer, not once per table (remembered: see _content_memo)."""
    if not partitions:
        return {}
    return _content_at(lake, _raw_state(lake), tuple(partitions))


def _content_at(lake, state: tuple, partitions: tuple[Partition, ...]) -> dict[Partition, str]:
    key = (catalog.raw_connection(lake), state, partitions)
    return _remembered(_content_memo, key, lambda: _content_signatures(lake, state, partitions))


def _content_signatures(lake, state: tuple, partitions: Sequence[Partition]) -> dict[Partition, str]:
    first = min(p.raw_days[0] for p in partitions)
    last = max(p.raw_days[-1] for p in partitions)
    versions = _raw_versions_at(lake, state, first, last)
    all_days = days(first, last)
    # "day:content" of each raw day of a subject, made once per subject and shared by every layer
    # asking about the same raw days (the memo's one exception to "do not modify": a subject's row
    # is added when first needed, always the same for the key); a partition's text is a slice of
    # it, its raw days being consecutive.
    cells = _remembered(_day_cells_memo, (catalog.raw_connection(lake), state, first, last), dict)

    def signature(p: Partition) -> str:
        row = cells.get(p.subject_id)
        if row is None:
            row = cells[p.subject_id] = [f"{d}:{versions.get((p.subject_id, d), '-')}" for d in all_days]
        offset = (p.raw_days[0] - first).days
        return hashlib.sha256("|".join(row[offset:offset + len(p.raw_days)]).encode()).hexdigest()

    return {p: signature(p) for p in partitions}


def recorded(lake, table: str) -> dict[tuple[str, str], str]:
    """(subject, part) -> the signature it was last built with."""
    rows = catalog.query(lake, f"""SELECT subject_id, part, arg_max(signature, built_at) AS signature
        FROM {catalog.qualified('meta.built_partitions')} WHERE table_name = ? GROUP BY ALL""", [table])
    keys = zip(rows.column("subject_id").to_pylist(), rows.column("part").to_pylist(), strict=True)
    return dict(zip(keys, rows.column("signature").to_pylist(), strict=True))


def stale(lake, table: str, version: str, partitions: Sequence[Partition]) -> dict[Partition, str]:
    """The partitions whose inputs changed since they were built (or never built), with their
    new signatures."""
    return _not_as_built(lake, table, signatures(lake, version, partitions))


def stale_profiles(lake, table: str, version: str, partitions: Sequence[Partition]) -> dict[Partition, str]:
    """`stale` for per-subject partitions of raw.profile: the profile endpoint has no time filter,
    so the signature is the subject's committed profile documents themselves, not raw days."""
    if not catalog.table_exists(lake, "raw.profile"):
        return {}
    rows = catalog.query(lake, f"""
        SELECT subject_id, sha256(string_agg(document, ' ' ORDER BY document)) AS signature
        FROM {catalog.qualified('raw.profile')}
        WHERE batch_id IN (SELECT batch_id FROM {catalog.qualified('meta.ingest_batches')})
        GROUP BY ALL""").to_pylist()
    current = {r["subject_id"]: f"{version}:{r['signature']}" for r in rows}
    return _not_as_built(lake, table,
                         {p: current[p.subject_id] for p in partitions if p.subject_id in current})


def _not_as_built(lake, table: str, current: dict[Partition, str]) -> dict[Partition, str]:
    """The partitions of `current` (partition -> signature now) last built with another signature."""
    built = recorded(lake, table)
    return {p: sig for p, sig in current.items() if built.get((p.subject_id, p.part)) != sig}


def built_rows(table: str, new: dict[Partition, str]) -> pa.Table:
    """Rows for meta.built_partitions recording `new` signatures of `table`."""
    return pa.table({
        "table_name": [table] * len(new),
        "subject_id": [p.subject_id for p in new],
        "part": [p.part for p in new],
        "signature": list(new.values()),
    })
