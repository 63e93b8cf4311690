"""Fixtures for the source tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sources.support import T0, sgv_entries


@pytest.fixture
def day_of_entries() -> list[dict[str, Any]]:
    """One day of 5-minute readings starting 2024-03-01T00:00Z, plus one either side."""
    return sgv_entries(T0 - 300_000, 290)
