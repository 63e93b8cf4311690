"""lake.sources.simulated.common: seeds, ids, time strings and UTC offsets for the simulated sites.

Every random draw comes from a generator seeded by (subject, stream, day) through a stable hash
(never Python's salted `hash`), so any day can be generated alone and comes out the same in every
process. A "day" is a UTC day number (epoch ms // DAY_MS) unless said otherwise.

Documents are written straight to JSON text, column by column (`json_text`), byte for byte what
`orjson.dumps` makes of the same dict: building a dict per document and serialising it cost about
10 us per devicestatus document, most of the demo's ingestion time.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from lake.sources import Document, serialize

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000


def rng_for(subject: str, stream: str, day: int) -> np.random.Generator:
    """The random generator of one (subject, stream, day): independent of every other day."""
    digest = hashlib.blake2b(f"{subject}|{stream}|{day}".encode(), digest_size=16).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def unit_normal(subject: str, stream: str, day: int) -> float:
    """One standard-normal number for (subject, stream, day), straight from the hash (Box-Muller):
    much cheaper than seeding a generator for a single draw."""
    digest = hashlib.blake2b(f"{subject}|{stream}|{day}".encode(), digest_size=16).digest()
    u1 = (int.from_bytes(digest[:8], "little") + 1) / 2**64  # in (0, 1]: log(u1) is finite
    u2 = int.from_bytes(digest[8:], "little") / 2**64
    return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)


def object_ids(rng: np.random.Generator, ms: np.ndarray) -> list[str]:
    """Mongo-ObjectId-shaped 24-hex ids: 4 bytes of epoch seconds, then 8 random bytes."""
    seconds = (ms // 1000).astype(">u4").view(np.uint8).reshape(-1, 4)
    tail = rng.integers(0, 256, size=(len(ms), 8), dtype=np.uint8)
    text = np.concatenate([seconds, tail], axis=1).tobytes().hex()
    return [text[i : i + 24] for i in range(0, len(text), 24)]


_HOUR_MINUTE = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
_SECOND = [f"{s:02d}." for s in range(60)]
_MILLI_Z = [f"{ms:03d}Z" for ms in range(1000)]


@lru_cache(maxsize=4096)
def _day_prefix(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%dT")


def iso_strings(ms: np.ndarray) -> list[str]:
    """Epoch ms as UTC ISO strings with milliseconds, as Nightscout stores them (`...T00:05:00.000Z`).
    Table lookups instead of datetime formatting: about 2x faster than np.datetime_as_string."""
    days = (ms // DAY_MS).tolist()
    of_day = ms % DAY_MS
    minutes, seconds = (of_day // MINUTE_MS).tolist(), (of_day // 1000 % 60).tolist()
    millis = (of_day % 1000).tolist()
    if days[0] == days[-1]:  # the usual case: one day, one prefix
        prefix = _day_prefix(days[0])
        return [f"{prefix}{_HOUR_MINUTE[m]}{_SECOND[s]}{_MILLI_Z[x]}"
                for m, s, x in zip(minutes, seconds, millis)]
    return [f"{_day_prefix(d)}{_HOUR_MINUTE[m]}{_SECOND[s]}{_MILLI_Z[x]}"
            for d, m, s, x in zip(days, minutes, seconds, millis)]


@lru_cache(maxsize=4096)
def _hourly_offsets_min(timezone: str, day: int) -> np.ndarray:
    """The zone's UTC offset (minutes) at the start of each UTC hour of `day`. DST changes
    happen on whole UTC hours in every zone the demo sites use."""
    zone = ZoneInfo(timezone)
    hours = [datetime.fromtimestamp((day * DAY_MS + h * HOUR_MS) / 1000, zone) for h in range(24)]
    return np.array([int(moment.utcoffset().total_seconds()) // 60 for moment in hours], dtype=np.int64)


def utc_offsets_min(timezone: str, ms: np.ndarray) -> np.ndarray:
    """The zone's UTC offset in minutes at each instant of `ms` (an int64 array of epoch ms)."""
    days = ms // DAY_MS
    hours = (ms % DAY_MS) // HOUR_MS
    first, last = int(days.min()), int(days.max())
    if first == last:
        return _hourly_offsets_min(timezone, first)[hours]
    table = np.stack([_hourly_offsets_min(timezone, day) for day in range(first, last + 1)])
    return table[days - first, hours]


def local_noon_offset_min(timezone: str, local_day: int) -> int:
    """The zone's UTC offset (minutes) at noon of a local calendar day (days since 1970-01-01)."""
    return int(_hourly_offsets_min(timezone, local_day)[12])


# ---- documents as JSON text -------------------------------------------------------------------

DAY_TABLE = pa.schema([("moment_ms", pa.int64()), ("doc_id", pa.string()), ("document", pa.string())])
"""One UTC day of one collection: each document's text and id, and the moment (epoch ms) its
window is cut on (`date` for entries, `created_at` for the others)."""


def day_table(moment_ms: np.ndarray | list[int], doc_id: pa.Array | list[str], document: pa.Array) -> pa.Table:
    """A DAY_TABLE, newest first (a stable sort: documents of one moment keep their order)."""
    table = pa.Table.from_arrays([pa.array(moment_ms, pa.int64()), pa.array(doc_id, pa.string()),
                                  document], schema=DAY_TABLE)
    return table.sort_by([("moment_ms", "descending")])


def dicts_day_table(moment_ms: list[int], documents: list[Document]) -> pa.Table:
    """A DAY_TABLE from documents built as dicts (the rare kinds: a few a day)."""
    texts = serialize(documents)
    return day_table(moment_ms, texts.column("doc_id").combine_chunks(), texts.column("document").combine_chunks())


def json_text(*pieces: str | pa.Array) -> pa.Array:
    """One JSON text per row, concatenated from `pieces`: str literals (the same for every row:
    the syntax, constant values) and string arrays (each row's value, already valid JSON, or the
    inside of a string that needs no escaping: ids, ISO times, fixed names)."""
    return pc.binary_join_element_wise(*(pa.scalar(p) if isinstance(p, str) else p for p in pieces), "")


def json_literal(value: object) -> str:
    """A constant value as JSON, escaped (persona names, device names)."""
    return orjson.dumps(value).decode()


def ints_text(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())


def strings(values: list[str]) -> pa.Array:
    return pa.array(values, pa.string())


_FRACTION_DIGITS = {places: pa.array([f"{r:0{places}d}".rstrip("0") or "0" for r in range(10**places)])
                    for places in (1, 2)}


def decimals_text(values: np.ndarray, places: int) -> pa.Array:
    """`np.round(values, places)` written as Python and orjson write floats: `180.0`, `1.5`, `0.25`.

    np.round computes rint(x * 10**places) / 10**places, and the shortest text that reads back
    as that double is the exact decimal, trailing zeros dropped but one kept: so the digits come
    from the integer rint(x * 10**places) alone.
    """
    scaled = np.rint(np.asarray(values, dtype=np.float64) * 10**places)
    whole, fraction = np.divmod(np.abs(scaled).astype(np.int64), 10**places)
    sign = pc.if_else(pa.array(np.signbit(scaled)), "-", "")
    return json_text(sign, ints_text(whole), ".", _FRACTION_DIGITS[places].take(pa.array(fraction)))


def int_lists_text(rows: np.ndarray) -> pa.Array:
    """Each row of a 2-D int array as the inside of a JSON array: `1,2,3`."""
    n, width = rows.shape
    offsets = pa.array(np.arange(0, n * width + 1, width, dtype=np.int32))
    return pc.binary_join(pa.ListArray.from_arrays(offsets, ints_text(rows.reshape(-1))), ",")
