"""Assertions shared by the check tests: a check passes (no rows) or flags exactly some rows."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from polars.testing import assert_frame_equal

CheckFn = Callable[[pl.DataFrame], pl.DataFrame]


def assert_passes(check_fn: CheckFn, frame: pl.DataFrame) -> None:
    offending = check_fn(frame)
    assert offending.is_empty(), f"{check_fn.__name__} flagged rows of a valid frame:\n{offending}"


def assert_flags_rows(check_fn: CheckFn, frame: pl.DataFrame, rows: list[int]) -> None:
    """The check returns exactly `frame`'s rows at these positions, whole and in order."""
    assert_frame_equal(check_fn(frame), frame[rows])
