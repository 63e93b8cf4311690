"""LakeTask.complete's memo: Luigi asks the same question many times while it plans a run."""

from __future__ import annotations

import os
from datetime import date

import tasks.ingest


def test_an_unfinished_ingestion_is_asked_once_while_planning_and_again_in_a_forked_worker(
        in_process_lake, monkeypatch):
    asked = []
    real = tasks.ingest.pending_subject_days

    def counted(*args, **kwargs):
        asked.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks.ingest, "pending_subject_days", counted)
    task = tasks.ingest.IngestNightscout(subjects=["demo-ana"], start=date(2024, 3, 1), end=date(2024, 3, 2))
    assert [task.complete() for _ in range(5)] == [False] * 5
    assert len(asked) == 1
    # Luigi's --workers N runs each task in a forked process, which may start after another worker
    # ingested these days: it must ask the lake again, not inherit the planner's "no".
    parent = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: parent + 1)
    assert not task.complete()
    assert len(asked) == 2


def test_a_table_task_never_keeps_a_no(in_process_lake, monkeypatch):
    import tasks.silver

    asked = []
    task = tasks.silver.BuildGlucoseReadings(start=date(2024, 3, 1), end=date(2024, 3, 2))
    monkeypatch.setattr(type(task), "is_complete", lambda self: asked.append(1) or False)
    assert [task.complete() for _ in range(3)] == [False] * 3
    assert len(asked) == 3
