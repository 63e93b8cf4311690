"""lake.sources.nightscout.settings: API paths, page sizes and retry policy for Nightscout v1.

The numbers follow the reference (`nightscout-api.md` §2.3 and §7): fixed half-open windows with a
`count` well above the largest window, devicestatus in windows of at most 6 hours, one request at a
time with a short pause, exponential backoff on 5xx and timeouts, never a retry loop on 401.
"""

from __future__ import annotations

# `.json` always: without it /entries answers with 5-column TSV for `Accept: */*` (reference §1).
VERIFYAUTH_PATH = "/api/v1/verifyauth"
ENTRIES_PATH = "/api/v1/entries.json"
TREATMENTS_PATH = "/api/v1/treatments.json"
DEVICESTATUS_PATH = "/api/v1/devicestatus.json"
PROFILE_PATH = "/api/v1/profile.json"

# A window answered with exactly `count` documents may have been cut, so it is split and re-read.
# A 1-day entries window holds 288 readings at 5 min, 1440 at 1 min: 10000 leaves ample room.
ENTRIES_COUNT = 10_000
# Loopers write a temp basal every 5 minutes: about 2000 treatments a week.
TREATMENTS_COUNT = 5_000
# Devicestatus documents are large (predictions); 6 h hold ~72 per uploader.
DEVICESTATUS_COUNT = 1_000
DEVICESTATUS_MAX_WINDOW_MS = 6 * 3600 * 1000
# The profile endpoint has no time filter (and no hidden 4-day window): one request gets them all.
PROFILE_COUNT = 1_000

# Retried: every 5xx and 429 (the one 4xx that asks to come back later; hosting proxies send it).
# Not retried: 401 (each failure lengthens the server's per-IP auth delay) and other 4xx.
RETRY_STATUSES = (429, *range(500, 600))
# Upper bound of one backoff sleep (also caps a server's Retry-After).
MAX_RETRY_DELAY_S = 60.0

DEFAULT_PAUSE_S = 0.5
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_BACKOFF_S = 1.0
