"""tasks.base: what every lake task shares. Tasks stay thin: lake.* does the work.

Completion lives in the lake (meta.task_markers, written in the same transaction as the data),
never in local files, so every worker on every machine agrees on what is done. It is a `complete()`
override, not a luigi.Target: whether a table task is done depends on whether any of its
partitions is stale (lake.lineage), not on whether something exists.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from datetime import UTC, datetime

import luigi

from lake import catalog
from lake.config import Settings

log = logging.getLogger("luigi-interface")


class _UsersErrorsWithoutTraceback(logging.Filter):
    """Luigi logs an error raised while it plans (in complete()) with its whole traceback: about 70
    lines for a misspelt LAKE_CATALOG, the one line that matters at the bottom. For the errors that
    are the user's to fix (configuration, a lake that cannot be reached, a reversed period) keep
    Luigi's first line and the error's own lines: the message says what to do, the stack does not."""

    USERS_ERRORS = ("lake.config.ConfigError: ", "lake.catalog.LakeError: ", "ValueError: --end ")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("Will not run") and not record.args:
            lines = record.msg.splitlines()
            starts = [i for i, line in enumerate(lines) if line.startswith(self.USERS_ERRORS)]
            if starts:
                record.msg = "\n".join([lines[0], *lines[starts[-1]:]])
        return True


log.addFilter(_UsersErrorsWithoutTraceback())


def check_period(start, end) -> None:
    """A reversed range would otherwise be an empty one: every task "complete", nothing built."""
    if end < start:
        raise ValueError(f"--end {end} is before --start {start}")


@functools.cache
def settings() -> Settings:
    """The process's settings, read once (bad configuration fails the first task that asks)."""
    return Settings.from_env()


_connections: dict[int, object] = {}


def lake_connection():
    """One lake connection per process. Per process, not per task: with --workers N Luigi forks,
    and a DuckDB connection must never be used across a fork; and a DuckDB-file catalog allows
    only one attachment per process."""
    pid = os.getpid()
    if pid not in _connections:
        _connections[pid] = catalog.connect(settings())
    return _connections[pid]


class LakeTask(luigi.Task):
    """A task that reads and writes the lake through its process's connection (lake_connection)."""

    _started_at: datetime | None = None  # when its run began (Luigi's START event), for meta.run_log

    @property
    def resources(self) -> dict[str, int]:  # type: ignore[override]
        # SQLite (and DuckDB-file) catalogs take one writer at a time; PostgreSQL takes many.
        return {} if settings().catalog.kind == "postgresql" else {"lake_writer": 1}

    @property
    def lake(self):
        return lake_connection()

    # Luigi asks complete() many times while scheduling (once per task that requires this one),
    # and each answer costs lake queries: remember a "complete" briefly (Luigi shares one instance
    # per set of parameters). Like Luigi's own completion cache, a False is by default not
    # remembered: it must be asked again, since another worker process may have run the task
    # meanwhile. Luigi's own cache ([worker] cache_task_completion) keeps a True for the worker's
    # whole run, with no expiry; this one expires, and a task forgets its own answer when it runs.
    COMPLETE_MEMO_S = 60.0
    # A task may still remember a "not complete" for a moment (0: never), where Luigi's planning
    # asks the same question many times within a second (see IngestNightscout); only in the
    # process that asked: with --workers N, Luigi forks a process per task run, and one forked
    # after another worker ran this task must not inherit the "no" (its dependency check fails).
    INCOMPLETE_MEMO_S = 0.0

    def complete(self) -> bool:
        memo = getattr(self, "_complete_memo", None)
        if memo is not None:
            value, at, pid = memo
            age = time.monotonic() - at
            if value and age < self.COMPLETE_MEMO_S:
                return True
            if not value and age < self.INCOMPLETE_MEMO_S and pid == os.getpid():
                return False
        value = self.is_complete()
        self._complete_memo = (value, time.monotonic(), os.getpid())
        return value

    def forget_completion(self) -> None:
        self._complete_memo = None

    def remember_completion(self) -> None:
        """Its run just did all its work: remembered as complete, as a fresh check would answer.
        Luigi asks at once (every task that requires it), and the answer costs lake queries."""
        self._complete_memo = (True, time.monotonic(), os.getpid())

    def is_complete(self) -> bool:
        raise NotImplementedError

    def parameters_json(self) -> str:
        return json.dumps(self.to_str_params(), sort_keys=True)

    def marker(self, inputs: dict | None = None) -> catalog.Marker:
        return catalog.Marker(self.task_id, self.task_family, self.parameters_json(),
                              json.dumps(inputs or {}, sort_keys=True, default=str),
                              self._started_at)

    def progress(self, done: int, total: int, message: str) -> None:
        """Report progress to the scheduler (shown live in luigid's UI)."""
        self.set_progress_percentage(round(100 * done / total) if total else 100)
        self.set_status_message(message)

    def on_failure(self, exception: BaseException) -> str:
        # Luigi shows this text in the UI and logs: keep it to the message, which never holds a secret.
        return f"{type(exception).__name__}: {exception}"


@LakeTask.event_handler(luigi.Event.START)
def _remember_start(task: LakeTask) -> None:
    # In the process that runs the task (Luigi forks one per run with --workers N), as the run.
    task._started_at = datetime.now(UTC)


@LakeTask.event_handler(luigi.Event.FAILURE)
def _log_failure(task: LakeTask, exception: BaseException) -> None:
    """A failed run's row in meta.run_log, in a transaction of its own (the run's was rolled back).
    Best effort: when the lake itself is what failed, the log says so and the run still fails."""
    try:
        message = catalog.redact(task.on_failure(exception), settings().catalog)[:2000]
        catalog.in_transaction(task.lake, lambda con: catalog.log_run(
            con, task.task_id, task.task_family, task.parameters_json(), "failed",
            task._started_at, message), attempts=3, what="logging a failed run")
    except Exception as exc:  # never hide the task's own failure behind this one
        # Only the kind of error: when the configuration is what failed, it cannot redact the text.
        log.warning("could not record the failed run of %s in meta.run_log (%s)", task.task_id,
                    type(exc).__name__)
