"""Shared benchmark helpers: fresh lakes, timing, peak memory, simulated subjects and their
documents as newline-delimited JSON (the reference loads those with DuckDB's read_json)."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import psutil
import pyarrow as pa
import pyarrow.ipc as ipc

from lake.ingest import day_bounds_ms
from lake.sources import WINDOWED, Document
from lake.sources.simulated import SimulatedSource

# A fixed past period: the simulated sites are deterministic, so every run sees the same documents.
FIRST_DAY = date(2024, 1, 1)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def subjects(n: int) -> list[SimulatedSource]:
    return [SimulatedSource(f"bench-{i:03d}", now=NOW) for i in range(n)]


def days(n: int) -> list[date]:
    return [FIRST_DAY + timedelta(d) for d in range(n)]


def fresh_home(root: Path, name: str) -> Path:
    home = root / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    return home


def write_ndjson(sources: list[SimulatedSource], day_list: list[date], folder: Path) -> dict[str, int]:
    """Every document of `sources` over `day_list`, one NDJSON file per subject and resource, with
    subject_id and window_day added (what raw stores beside each document). Returns counts.
    Files written earlier for the same subjects and days (same work dir) are reused."""
    done = folder / f"counts-{len(sources)}x{len(day_list)}.json"
    if done.exists():
        return orjson.loads(done.read_bytes())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    counts = {"entries": 0, "treatments": 0, "devicestatus": 0}
    for source in sources:
        files = {r: open(folder / f"{r}-{source.subject}.ndjson", "wb") for r in counts}
        try:
            for day in day_list:
                start, end = day_bounds_ms(day)
                head = orjson.dumps({"subject_id": source.subject, "window_day": day.isoformat()})[:-1] + b',"doc":'
                for resource_name in counts:
                    texts = source.serialized(resource_name, start, end).column("document").to_pylist()
                    counts[resource_name] += len(texts)
                    files[resource_name].write(b"".join(head + text.encode() + b"}\n" for text in texts))
        finally:
            for f in files.values():
                f.close()
    done.write_bytes(orjson.dumps(counts))
    return counts


def prepared_folder(root: Path, day_list: list[date]) -> Path:
    """Where `write_prepared` keeps the documents of `day_list` (one folder per list of days)."""
    return root / "prepared" / f"{day_list[0]}+{len(day_list)}"


def write_prepared(sources: list[SimulatedSource], day_list: list[date], folder: Path) -> float:
    """Every document of `sources` over `day_list` as each site serves it (`serialized`), one Arrow
    IPC file per subject with a record batch per (resource, day), for `PreparedSite`. Returns the
    seconds the simulated sites took to make them. Files written earlier for the same subjects and
    days (same folder) are reused."""
    done = folder / f"prepared-{len(sources)}.json"
    if done.exists():
        return orjson.loads(done.read_bytes())["generation_seconds"]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    seconds = 0.0
    for source in sources:
        with ipc.new_file(folder / f"{source.subject}.arrow", PREPARED_SCHEMA) as writer:
            for resource in WINDOWED:
                for day in day_list:
                    started = time.perf_counter()
                    batch = source.serialized(resource, *day_bounds_ms(day))
                    seconds += time.perf_counter() - started
                    writer.write_table(batch.cast(PREPARED_SCHEMA), max_chunksize=1 << 30)
    done.write_bytes(orjson.dumps({"generation_seconds": seconds}))
    return seconds


PREPARED_SCHEMA = pa.schema([("doc_id", pa.string()), ("document", pa.string())])


class PreparedSite:
    """A simulated site whose documents were made beforehand (`write_prepared`): serving a window
    reads that day's record batch from disk, like a server that has its responses ready, so the
    timed side pays for reading the documents but not for making them (as the baseline, which
    reads NDJSON written beforehand). Only whole UTC days of the prepared days can be asked for."""

    def __init__(self, source: SimulatedSource, day_list: list[date], folder: Path) -> None:
        self.subject = source.subject
        self._profiles = source.profiles()
        self._path = folder / f"{source.subject}.arrow"
        self._reader: ipc.RecordBatchFileReader | None = None
        # Batches were written resource by resource, day by day.
        self._index = {(resource, day_bounds_ms(day)): i
                       for i, (resource, day) in enumerate((r, d) for r in WINDOWED for d in day_list)}

    def __repr__(self) -> str:
        return f"PreparedSite({self.subject!r})"

    def verify(self) -> None:
        pass

    def profiles(self) -> list[Document]:
        return self._profiles

    def serialized(self, collection: str, start_ms: int, end_ms: int) -> pa.Table:
        if self._reader is None:
            # Read, not memory-mapped: mapped pages would stay in the process's resident memory.
            self._reader = ipc.open_file(pa.OSFile(str(self._path)))
        return pa.Table.from_batches([self._reader.get_batch(self._index[collection, (start_ms, end_ms)])])


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float


class PeakRss:
    """Peak resident memory of this process and its children, sampled every 0.1 s in a thread
    while inside the `with` block; `take()` returns the peak so far and starts a new one."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._peak = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        rss = self._process.memory_info().rss
        for child in self._process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                rss += child.memory_info().rss
        self._peak = max(self._peak, rss)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.sample()

    def take(self) -> int:
        self.sample()
        peak, self._peak = self._peak, 0
        return peak

    def __enter__(self) -> PeakRss:
        self.sample()
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sampler.join()
        self.sample()


@contextlib.contextmanager
def measure() -> Iterator[Measured]:
    """Wall time and the peak resident memory of this process and its children while inside."""
    result = Measured(0.0, 0.0)
    with PeakRss() as peak:
        started = time.perf_counter()
        try:
            yield result
        finally:
            result.seconds = time.perf_counter() - started
            result.peak_rss_mb = peak.take() / 2**20


def env_for(home: Path) -> dict[str, str]:
    return {"LAKE_HOME": str(home)}


def print_row(label: str, count: int, m: Measured, unit: str = "docs") -> None:
    print(f"  {label:<44} {count:>10,} {unit}  {m.seconds:8.1f} s  {count / m.seconds:>10,.0f} {unit}/s  "
          f"peak {m.peak_rss_mb:,.0f} MB", flush=True)


def python_info() -> str:
    return f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, max RSS so far " \
           f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB"
