"""lake.ingest: idempotent per (subject, UTC day), documents land exactly as they came."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import orjson
import pyarrow as pa
import pytest

from lake import catalog, ingest
from lake.config import Secret, Settings, Site
from lake.sources.nightscout import NightscoutSource
from tests.tasks.conftest import simulated_sites
from tests.fake_nightscout import FakeNightscout

DAYS = [date(2024, 3, 1), date(2024, 3, 2)]


def source(server: FakeNightscout, subject: str = "alice", token: str = "alice-token") -> NightscoutSource:
    return NightscoutSource(Site(subject, server.url, token=Secret(token)), pause_s=0, backoff_s=0.01)


def raw_counts(lake) -> dict[str, int]:
    return {r: lake.con.execute(f"SELECT count(*) FROM lake.raw.{r}").fetchone()[0]
            for r in ("entries", "treatments", "devicestatus", "profile")}


def test_rerunning_a_day_leaves_exactly_that_days_documents(lake_env):
    settings = Settings.from_env(lake_env)
    lake = catalog.connect(settings)
    with simulated_sites(["alice"], DAYS[0], DAYS[-1]) as (servers, expected):
        first = ingest.ingest(settings, lake, [source(servers["alice"])], DAYS)
        before = raw_counts(lake)
        second = ingest.ingest(settings, lake, [source(servers["alice"])], DAYS[1:])
    after = raw_counts(lake)
    assert before == after == {"entries": len(expected["alice"]["entries"]),
                               "treatments": len(expected["alice"]["treatments"]),
                               "devicestatus": len(expected["alice"]["devicestatus"]), "profile": 1}
    # the second batch replaced the first one's rows of 2024-03-02 and left 2024-03-01 alone
    by_batch = dict(lake.con.execute(
        "SELECT window_day, any_value(batch_id) FROM lake.raw.entries GROUP BY 1").fetchall())
    assert by_batch == {DAYS[0]: first.batch_id, DAYS[1]: second.batch_id}
    # the day's content did not change, so its hash did not either: downstream rebuilds nothing
    hashes = lake.con.execute("SELECT count(DISTINCT content_hash) FROM lake.meta.raw_day_versions "
                              "WHERE day = ? AND resource = 'entries'", [DAYS[1]]).fetchone()[0]
    assert hashes == 1


def test_malformed_documents_land_in_raw_as_they_came_without_failing_the_run(lake_env):
    t0 = 1_709_251_200_000  # 2024-03-01T00:00Z
    odd = [
        {"_id": "a" * 24, "type": "sgv", "sgv": "120", "date": t0 + 60_000},  # sgv as a string
        {"_id": "b" * 24, "type": "sgv", "sgv": 110, "date": t0 + 120_000.75},  # fractional ms
        {"_id": "c" * 24, "type": "sgv", "sgv": 105, "date": t0 + 180_000, "brandNewField": {"x": [1, 2]}},
        {"_id": "d" * 24, "type": "weird", "date": t0 + 240_000},  # unknown type, no glucose
    ]
    treatments = [{"_id": "e" * 24, "eventType": "Totally New Event", "created_at": "2024-03-01T08:00:00.000Z",
                   "carbs": None, "insulin": None}]
    settings = Settings.from_env(lake_env)
    lake = catalog.connect(settings)
    with FakeNightscout(entries=odd, treatments=treatments, tokens={"alice-token": "readable"}) as server:
        batch = ingest.ingest(settings, lake, [source(server)], [DAYS[0]])
    assert batch.total("entries") == 4 and batch.total("treatments") == 1
    landed = {doc_id: json.loads(doc) for doc_id, doc in
              lake.con.execute("SELECT doc_id, document FROM lake.raw.entries").fetchall()}
    assert landed == {d["_id"]: orjson.loads(orjson.dumps(d)) for d in odd}


def test_a_failed_load_leaves_nothing_visible_and_the_next_run_lands_its_own_data(lake_env):
    settings = Settings.from_env(lake_env)
    lake = catalog.connect(settings)
    with simulated_sites(["alice"], DAYS[0], DAYS[-1]) as (servers, expected):
        servers["alice"].add_fault("/api/v1/devicestatus.json", times=50, status=500)
        failing = NightscoutSource(Site("alice", servers["alice"].url, token=Secret("alice-token")),
                                   pause_s=0, backoff_s=0.001, max_attempts=2)
        try:
            ingest.ingest(settings, lake, [failing], DAYS)
            raise AssertionError("the failing site should have raised")
        except Exception as exc:
            assert "devicestatus" in str(exc) and servers["alice"].url in str(exc)
        assert lake.con.execute("SELECT count(*) FROM lake.meta.ingest_batches").fetchone()[0] == 0
        servers["alice"]._faults.clear()
        ingest.ingest(settings, lake, [source(servers["alice"])], DAYS)
    assert raw_counts(lake)["entries"] == len(expected["alice"]["entries"])


def test_days_fetched_before_they_were_48_hours_old_are_read_again(lake):
    lake.con.execute("INSERT INTO lake.meta.raw_day_versions VALUES "
                     "('s', DATE '2024-03-01', 'entries', 'h', 1, 'b', TIMESTAMPTZ '2024-03-05 00:00:00+00'), "
                     "('s', DATE '2024-03-04', 'entries', 'h', 1, 'b', TIMESTAMPTZ '2024-03-05 12:00:00+00')")
    first, last = date(2024, 3, 1), date(2024, 3, 5)
    # 03-01 was fetched 3 days after it ended: final. 03-04 was fetched 12 h after: provisional.
    assert ingest.days_to_fetch(lake, ["s", "t"], first, last) == {
        "s": [date(2024, 3, 2), date(2024, 3, 3), date(2024, 3, 4), date(2024, 3, 5)],
        "t": [first + timedelta(n) for n in range(5)]}
    # ... unless it was fetched at or after `fresh_since` (what the running task itself fetched)
    fresh_since = datetime(2024, 3, 5, 12, tzinfo=UTC)
    assert ingest.days_to_fetch(lake, ["s"], first, last, fresh_since=fresh_since)["s"] == [
        date(2024, 3, 2), date(2024, 3, 3), date(2024, 3, 5)]
    assert ingest.days_to_fetch(lake, ["s"], first, last, overlap=timedelta(hours=12))["s"] == [
        date(2024, 3, 2), date(2024, 3, 3), date(2024, 3, 5)]


def test_dlt_load_files_are_written_uncompressed(lake_env, monkeypatch):
    # They live only until the INSERT into raw has read them; compressing them cost ~15% of a load.
    import pyarrow.parquet as pq

    compressions = []

    class Recording(pq.ParquetWriter):
        def __init__(self, *args, **kwargs):
            compressions.append(kwargs.get("compression"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(pq, "ParquetWriter", Recording)
    settings = Settings.from_env(lake_env)
    with simulated_sites(["alice"], DAYS[0], DAYS[0]) as (servers, _):
        ingest.ingest(settings, catalog.connect(settings), [source(servers["alice"])], DAYS[:1])
    assert compressions and set(compressions) == {"none"}


def committed_entries_by_day(lake) -> dict[date, int]:
    return dict(lake.con.execute("""
        SELECT window_day, count(*) FROM lake.raw.entries
        WHERE batch_id IN (SELECT batch_id FROM lake.meta.ingest_batches) GROUP BY 1""").fetchall())


def latest_versions_by_day(lake) -> dict[date, int]:
    return dict(lake.con.execute("""
        SELECT day, arg_max(n_documents, committed_at) FROM lake.meta.raw_day_versions
        WHERE resource = 'entries' GROUP BY 1""").fetchall())


def test_two_runs_over_overlapping_days_at_once_never_delete_each_others_rows(lake_env):
    # Two ingestions land before either commits (a scheduled build beside an on-demand one):
    # the first to commit must not delete the rows the other has landed but not committed yet.
    from lake.sources.simulated import simulated_sources

    settings = Settings.from_env(lake_env)
    lake = catalog.connect(settings)
    ana = [s for s in simulated_sources() if s.subject == "demo-ana"]
    days = [date(2024, 3, 1) + timedelta(n) for n in range(5)]
    for first_to_commit in (0, 1):
        early, late = ingest.Batch(["demo-ana"], days[:3]), ingest.Batch(["demo-ana"], days[1:])
        for batch in (early, late):
            ingest.land(settings, batch, ingest.read_days(batch, ana))
        for batch in ((early, late) if first_to_commit == 0 else (late, early)):
            ingest.commit(lake, batch)
        in_raw = committed_entries_by_day(lake)
        assert set(in_raw) == set(days) and all(in_raw.values())
        assert in_raw == latest_versions_by_day(lake)


def test_rows_of_a_run_killed_long_ago_go_when_its_days_are_landed_again(lake_env):
    from lake.sources.simulated import simulated_sources

    settings = Settings.from_env(lake_env)
    lake = catalog.connect(settings)
    ana = [s for s in simulated_sources() if s.subject == "demo-ana"]
    long_ago = datetime.now(UTC) - ingest.ABANDONED_AFTER - timedelta(1)
    killed = ingest.Batch(["demo-ana"], DAYS, fetched_at=long_ago)
    recent = ingest.Batch(["demo-ana"], DAYS)
    for batch in (killed, recent):  # neither commits: killed before its commit
        ingest.land(settings, batch, ingest.read_days(batch, ana))
    ingest.ingest(settings, lake, ana, DAYS)
    left = {b for (b,) in lake.con.execute("SELECT DISTINCT batch_id FROM lake.raw.entries").fetchall()}
    assert killed.batch_id not in left and recent.batch_id in left  # recent: it may still commit


def test_a_catalog_password_with_url_characters_never_shows_in_a_failed_load(tmp_path, monkeypatch):
    # dlt's own ATTACH fails (nothing listens on port 1) and its error quotes the catalog URL, where
    # the password is URL-encoded: "Hunter2@prod/db" is "Hunter2%40prod%2Fdb" there.
    from urllib.parse import quote

    password = "Hunter2@prod/db"
    monkeypatch.setenv("LAKE_HOME", str(tmp_path / "lh"))
    monkeypatch.setenv("LAKE_CATALOG", f"postgresql://lake:{quote(password, safe='')}@127.0.0.1:1/db")
    settings = Settings.from_env()
    batch = ingest.Batch(["x"], [DAYS[0]])
    try:
        ingest.land(settings, batch, iter([pa.table({"n": [1]})]), attempts=1)
        raise AssertionError("the load should have failed")
    except ingest.IngestError as exc:
        message = str(exc)
    assert "127.0.0.1" in message  # the error still says where it failed
    for form in (password, quote(password, safe=""), quote(password), "Hunter2"):
        assert form not in message, message


def test_maintenance_deletes_the_rows_of_runs_killed_more_than_a_week_ago_and_nothing_else(lake_env):
    from lake.maintenance import maintain
    from lake.sources.simulated import simulated_sources

    settings = Settings.from_env(lake_env)
    lake = catalog.connect(settings)
    ana = [s for s in simulated_sources() if s.subject == "demo-ana"]
    committed = ingest.ingest(settings, lake, ana, DAYS)
    long_ago = datetime.now(UTC) - ingest.ABANDONED_AFTER - timedelta(1)
    killed = ingest.Batch(["demo-ana"], DAYS, fetched_at=long_ago)
    landing = ingest.Batch(["demo-ana"], DAYS)  # another run, still landing
    for batch in (killed, landing):
        ingest.land(settings, batch, ingest.read_days(batch, ana))
    result = maintain(lake)
    left = dict(lake.con.execute("SELECT batch_id, count(*) FROM lake.raw.entries GROUP BY 1").fetchall())
    assert set(left) == {committed.batch_id, landing.batch_id}
    assert result.abandoned_raw_rows > 0 and "raw rows of killed ingestion runs" in result.summary()


def test_a_run_with_nothing_left_to_fetch_still_leaves_its_marker_and_run_log_row(lake_env):
    settings = Settings.from_env(lake_env)
    lake = catalog.connect(settings)
    marker = catalog.Marker("IngestNightscout_x", "IngestNightscout", "{}", "{}")
    batch = ingest.ingest(settings, lake, [], [], marker=marker)
    assert batch.days == []
    assert catalog.marker_exists(lake, "IngestNightscout_x")
    assert lake.con.execute("SELECT status FROM lake.meta.run_log WHERE task_id = 'IngestNightscout_x'"
                            ).fetchall() == [("done",)]


@pytest.mark.servers
def test_two_commits_at_the_same_moment_on_postgresql_take_turns_and_leave_one_copy(postgres, tmp_path,
                                                                                   monkeypatch):
    # Two runs land overlapping days for the first time, then commit at once: the first pauses in
    # its transaction while the second commits. Neither sees the other's batch as committed when it
    # starts, so without turns both copies of the shared days stay.
    import threading

    from lake.sources.simulated import simulated_sources
    from tests.conftest import postgres_env

    settings = Settings.from_env({"LAKE_HOME": str(tmp_path / "lh"), **postgres_env(postgres)})
    lake_a, lake_b = catalog.connect(settings), catalog.connect(settings)
    ana = [s for s in simulated_sources() if s.subject == "demo-ana"]
    days = [date(2024, 3, 1) + timedelta(n) for n in range(4)]
    first, second = ingest.Batch(["demo-ana"], days[:3]), ingest.Batch(["demo-ana"], days[1:])
    for batch in (first, second):
        ingest.land(settings, batch, ingest.read_days(batch, ana))
    paused, resume = threading.Event(), threading.Event()
    write_marker = catalog.write_marker

    def pausing_once(con, marker):
        if marker.task_id == "first" and not paused.is_set():
            paused.set()
            assert resume.wait(60)
        write_marker(con, marker)

    monkeypatch.setattr(catalog, "write_marker", pausing_once)
    marker = catalog.Marker("first", "t", "{}")
    committing = threading.Thread(target=ingest.commit, args=(lake_a, first, marker))
    committing.start()
    assert paused.wait(60)
    ingest.commit(lake_b, second)
    resume.set()
    committing.join(120)
    assert not committing.is_alive()
    in_raw = committed_entries_by_day(lake_b)
    assert set(in_raw) == set(days) and in_raw == latest_versions_by_day(lake_b)
    (copies,) = lake_b.con.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM lake.raw.entries "
                                   "WHERE batch_id IN (SELECT batch_id FROM lake.meta.ingest_batches) "
                                   "GROUP BY doc_id)").fetchone()
    assert copies == 1
