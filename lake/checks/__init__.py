"""lake.checks: Polars validation checks, `check_<table>_<rule>(df) -> offending rows`.

An empty result means the check passes. Each table module registers its checks in CHECKS with a
severity: a failing *hard* check fails the Luigi task that built the table (its transaction is
rolled back, so the bad rows never land) with a message naming the check and showing offending
rows; a failing *soft* check is recorded and logged as a warning. Every result, passing or not,
goes to lake.meta.check_results.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import duckdb
import polars as pl

from lake import catalog

log = logging.getLogger(__name__)

Severity = Literal["hard", "soft"]


@dataclass(frozen=True)
class Rebuilt:
    """SQL condition on a table aliased `t` for the rebuilt rows of a group of subjects, with its
    parameters: it holds for any table with the same partition keys (raw, bronze and silver share
    subject_id and window_day), so a check across tables reads the others' matching rows."""

    where: str
    params: list


Reads = Callable[[duckdb.DuckDBPyConnection, pl.DataFrame, Rebuilt], tuple[pl.DataFrame, ...]]


@dataclass(frozen=True)
class Check:
    table: str
    name: str
    severity: Severity
    fn: Callable[..., pl.DataFrame]
    # Columns of a check that compares subjects with each other (freshness): it sees every rebuilt
    # row at once, with only these columns and subject_id (taken from each group's rows as they
    # are read). Other checks see a group of subjects.
    across_subjects: tuple[str, ...] = ()
    # A check across tables (reconciliation): reads(con, rebuilt rows of a group of subjects, their
    # Rebuilt condition) gives the frames `fn` takes, the other tables' rows read in the same
    # transaction.
    reads: Reads | None = None
    # With `reads`: read once for every rebuilt subject instead of group by group, for a check whose
    # reads stay small however many subjects there are (each group would scan the other tables again).
    all_at_once: bool = False


class CheckFailed(RuntimeError):
    """A hard check failed; the message names it and shows offending rows."""

    def __init__(self, message: str, results: Sequence[tuple[Check, pl.DataFrame]]):
        super().__init__(message)
        self.results = results


CHECKS: dict[str, list[Check]] = {}
# About 1.5 million rows of a daily table, 200-300 MB as a Polars frame. Each group scans the table
# once (its rows are in no subject order), so fewer, larger groups read faster: a subject-year of
# silver.glucose_readings took 8 s to check in groups of 1500 partitions, 5.5 s in groups of 5000.
PARTITIONS_PER_CHECK = 5000
# Lineage columns of bronze rows, which no check reads: leaving them out of the frames saves their
# conversion (reading a subject-year of bronze.entries took 2.3 s, 0.6 s of it for these two).
# Written as the SQL list the frames' query takes.
UNCHECKED_COLUMNS = "'batch_id', 'fetched_at'"


def check(table: str, severity: Severity = "hard", across_subjects: tuple[str, ...] = (),
          reads: Reads | None = None, all_at_once: bool = False):
    """Register `fn` as a check of `table` (decorator). `across_subjects`, `reads`, `all_at_once`:
    see Check."""

    def register(fn: Callable[..., pl.DataFrame]):
        CHECKS.setdefault(table, []).append(
            Check(table, fn.__name__, severity, fn, across_subjects, reads, all_at_once))
        return fn

    return register


def _load_all() -> None:
    from lake.checks import bronze, gold, reconcile, silver  # noqa: F401  (registers the checks)


def rebuilt_rows(con: duckdb.DuckDBPyConnection, keys: Sequence[str], subjects: list[str]) -> Rebuilt:
    """The rows of `_partitions` (keys: subject_id and the others) of `subjects`, as a condition
    on `t` (catalog.in_partitions: bounded by each key's range among those subjects' partitions, as
    a daily run's partitions are in the newest files only)."""
    return Rebuilt(*catalog.in_partitions(con, keys, subjects))


def describe(results: Sequence[tuple[Check, pl.DataFrame]], limit: int = 5) -> str:
    lines = []
    for c, bad in results:
        if bad.height:
            with pl.Config(tbl_rows=limit, tbl_cols=12, fmt_str_lengths=40):
                lines.append(f"check {c.name} ({c.severity}) on {c.table}: {bad.height} offending row(s)\n"
                             f"{bad.head(limit)}")
    return "\n".join(lines)


def run_checks(con: duckdb.DuckDBPyConnection, table: str, keys: Sequence[str], task_id: str) -> None:
    """Check the partitions just written to `table` (inside the writing transaction: `_partitions`
    names them) and record the results; raise CheckFailed on a failing hard check."""
    _load_all()
    if not CHECKS.get(table):
        return
    target = f"{catalog.qualified(table)} t"
    # Rebuilt rows a group of subjects at a time: one frame of a whole subject-year table took
    # gigabytes. Checks within a subject (keys, values) find the same rows group by group.
    groups: list[list[str]] = [[]]
    size = 0
    for subject, n in con.execute("SELECT subject_id, count(*) FROM _partitions GROUP BY 1 ORDER BY 1").fetchall():
        if size + n > PARTITIONS_PER_CHECK and groups[-1]:
            groups.append([])
            size = 0
        groups[-1].append(subject)
        size += n
    offending: dict[str, list[pl.DataFrame]] = {}
    # Checks that see every rebuilt subject at once keep what they need of each group's rows as it
    # is read: all of it (all_at_once), or subject_id and a few columns (across_subjects).
    later = [c for c in CHECKS[table] if c.all_at_once or c.across_subjects]
    kept: dict[str, list[pl.DataFrame]] = {c.name: [] for c in later}
    for group in groups:
        rows = rebuilt_rows(con, keys, group)
        df = con.execute(f"SELECT COLUMNS(c -> c NOT IN ({UNCHECKED_COLUMNS})) FROM {target} "
                         f"WHERE {rows.where}", rows.params).pl()
        for c in CHECKS[table]:
            if c.name in kept:
                kept[c.name].append(df.select("subject_id", *c.across_subjects) if c.across_subjects else df)
            else:
                offending.setdefault(c.name, []).append(c.fn(*c.reads(con, df, rows)) if c.reads else c.fn(df))
    if any(c.reads for c in later):  # their reads need the condition for every rebuilt subject
        everyone = Rebuilt(*catalog.in_partitions(con, keys))
    for c in later:
        rebuilt = pl.concat(kept[c.name])
        offending[c.name] = [c.fn(*c.reads(con, rebuilt, everyone)) if c.reads else c.fn(rebuilt)]
    results = [(c, pl.concat(offending[c.name], how="diagonal_relaxed")) for c in CHECKS[table]]
    record(con, results, task_id)
    soft = [(c, bad) for c, bad in results if bad.height and c.severity == "soft"]
    if soft:
        log.warning("soft checks failed:\n%s", describe(soft))
    hard = [(c, bad) for c, bad in results if bad.height and c.severity == "hard"]
    if hard:
        raise CheckFailed(describe(hard), results)


def record(con: duckdb.DuckDBPyConnection, results: Sequence[tuple[Check, pl.DataFrame]], task_id: str) -> None:
    con.executemany(
        f"INSERT INTO {catalog.qualified('meta.check_results')} VALUES (?, ?, ?, ?, ?, ?, ?, now())",
        [[c.table, c.name, c.severity, bad.height == 0, bad.height,
          json.dumps(bad.head(5).to_dicts(), default=str) if bad.height else None, task_id]
         for c, bad in results])
