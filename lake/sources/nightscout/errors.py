"""lake.sources.nightscout.errors: the exceptions a Nightscout source raises.

Messages name the site (its URL, which config guarantees carries no credentials), the subject, what
was being read and why it failed. They never contain a token, an API secret or its hash, nor a
request URL (request URLs carry `token=`).
"""

from __future__ import annotations


class NightscoutError(RuntimeError):
    """Reading a Nightscout site failed (after retries where a retry made sense)."""


class NightscoutAuthError(NightscoutError):
    """The site rejected the credentials, or needs some. Never retried: each failed attempt makes
    the server delay later requests from this IP and notifies the site owner."""
