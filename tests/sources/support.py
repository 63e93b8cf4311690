"""Helpers for the source tests: small entry sets and a Nightscout client tuned for speed."""

from __future__ import annotations

from typing import Any

from lake.config import Secret, Site
from lake.sources.nightscout import NightscoutSource

T0 = 1_709_251_200_000  # 2024-03-01T00:00:00Z
DAY_MS = 86_400_000
API_SECRET = "a-long-api-secret-for-tests"  # Nightscout wants at least 12 characters
TOKEN = "lakereader-0123456789abcdef"


def sgv_entries(start_ms: int, n: int, step_ms: int = 300_000) -> list[dict[str, Any]]:
    """`n` minimal sgv entries every `step_ms`, oldest first, with distinct 24-hex ids."""
    return [{"_id": f"{i:024x}", "type": "sgv", "sgv": 100 + i % 80, "date": start_ms + i * step_ms}
            for i in range(n)]


def fast_source(url: str, *, token: str | None = None, api_secret: str | None = None,
                **options: Any) -> NightscoutSource:
    """A NightscoutSource without pauses and with tiny backoff, so the suite stays fast."""
    site = Site(subject="tester", url=url, token=Secret(token) if token else None,
                api_secret=Secret(api_secret) if api_secret else None)
    settings = {"pause_s": 0.0, "timeout_s": 2.0, "max_attempts": 3, "backoff_s": 0.01, **options}
    return NightscoutSource(site, **settings)
