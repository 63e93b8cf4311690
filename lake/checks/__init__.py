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

log = logging.getLogger(__name__)

Severity = Literal["hard", "soft"]


@dataclass(frozen=True)
class Check:
    table: str
    name: str
    severity: Severity
    fn: Callable[[pl.DataFrame], pl.DataFrame]


class CheckFailed(RuntimeError):
    """A hard check failed; the message names it and shows offending rows."""

    def __init__(self, message: str, results: Sequence[tuple[Check, pl.DataFrame]]):
        super().__init__(message)
        self.results = results


CHECKS: dict[str, list[Check]] = {}
SUBJECTS_PER_CHECK = 5


def check(table: str, severity: Severity = "hard"):
    """Register `fn` as a check of `table` (decorator)."""

    def register(fn: Callable[[pl.DataFrame], pl.DataFrame]):
        CHECKS.setdefault(table, []).append(Check(table, fn.__name__, severity, fn))
        return fn

    return register


def evaluate(table: str, df: pl.DataFrame) -> list[tuple[Check, pl.DataFrame]]:
    """Run every registered check of `table` on `df`: (check, offending rows) pairs."""
    _load_all()
    return [(c, c.fn(df)) for c in CHECKS.get(table, [])]


def _load_all() -> None:
    from lake.checks import bronze, gold, silver  # noqa: F401  (registers the checks)


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
    schema, name = table.split(".")
    match = " AND ".join(f'p."{k}" = t."{k}"' for k in keys)
    subjects = [s for (s,) in con.execute("SELECT DISTINCT subject_id FROM _partitions ORDER BY 1").fetchall()]
    # A few subjects at a time: a full rebuild of a subject-year table in one frame took gigabytes.
    # Every check's rule holds within one subject (keys and freshness are per subject).
    chunks = [evaluate(table, con.execute(
        f'SELECT * FROM lake."{schema}"."{name}" t WHERE list_contains(?, t.subject_id) AND EXISTS '
        f"(SELECT 1 FROM _partitions p WHERE {match})", [subjects[i:i + SUBJECTS_PER_CHECK]]).pl())
        for i in range(0, max(len(subjects), 1), SUBJECTS_PER_CHECK)]
    results = [(c, pl.concat([chunk[n][1] for chunk in chunks], how="diagonal_relaxed"))
               for n, (c, _) in enumerate(chunks[0])]
    record(con, results, task_id)
    soft = [(c, bad) for c, bad in results if bad.height and c.severity == "soft"]
    if soft:
        log.warning("soft checks failed:\n%s", describe(soft))
    hard = [(c, bad) for c, bad in results if bad.height and c.severity == "hard"]
    if hard:
        raise CheckFailed(describe(hard), results)


def record(con: duckdb.DuckDBPyConnection, results: Sequence[tuple[Check, pl.DataFrame]], task_id: str) -> None:
    con.executemany(
        "INSERT INTO lake.meta.check_results VALUES (?, ?, ?, ?, ?, ?, ?, now())",
        [[c.table, c.name, c.severity, bad.height == 0, bad.height,
          json.dumps(bad.head(5).to_dicts(), default=str) if bad.height else None, task_id]
         for c, bad in results])
