"""lake.sources.nightscout: read a live Nightscout site through its v1 REST API.

`NightscoutSource(site)` implements `lake.sources.DocumentSource`. HTTP, retries and credential
redaction live in `transport`, paging in `client`, paths and page sizes in `settings`.
"""

from lake.sources.nightscout.client import NightscoutSource
from lake.sources.nightscout.errors import NightscoutAuthError, NightscoutError

__all__ = ["NightscoutAuthError", "NightscoutError", "NightscoutSource"]
