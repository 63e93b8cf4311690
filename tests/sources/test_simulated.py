"""The simulated demo sites: deterministic, window-independent, API-shaped, quirky, and fast."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest

from lake.config import Settings
from lake.sources import DocumentSource, sources_for
from lake.sources.simulated import SimulatedSource, simulated_sources
from lake.sources.simulated.common import decimals_text
from tests.sources.support import DAY_MS, T0

MARCH_1 = datetime(2024, 3, 1, tzinfo=UTC)
SUBJECTS = ["demo-ana", "demo-ben", "demo-cleo"]
HEX_ID = re.compile(r"^[0-9a-f]{24}$")


def month_of_entries(subject: str) -> list[dict]:
    return SimulatedSource(subject).entries(T0, T0 + 30 * DAY_MS)


def test_the_demo_default_is_three_simulated_sources():
    sources = sources_for(Settings.from_env({}))
    assert [s.subject for s in sources] == SUBJECTS == [s.subject for s in simulated_sources()]
    assert all(isinstance(s, DocumentSource) for s in sources)


@pytest.mark.parametrize("subject", SUBJECTS)
def test_the_same_window_gives_the_same_documents_every_time(subject):
    first = SimulatedSource(subject)
    again = SimulatedSource(subject)
    end = MARCH_1 + timedelta(days=1)
    assert first.entries(T0, T0 + DAY_MS) == again.entries(T0, T0 + DAY_MS)
    assert first.treatments(MARCH_1, end) == again.treatments(MARCH_1, end)
    assert first.devicestatus(MARCH_1, end) == again.devicestatus(MARCH_1, end)
    assert first.profiles() == again.profiles()


@pytest.mark.parametrize("subject", SUBJECTS)
def test_two_half_day_windows_give_exactly_the_one_day_window(subject):
    source = SimulatedSource(subject)
    noon, middle, end = T0 + DAY_MS // 2, MARCH_1 + timedelta(hours=12), MARCH_1 + timedelta(days=1)
    assert source.entries(T0, T0 + DAY_MS) == source.entries(noon, T0 + DAY_MS) + source.entries(T0, noon)
    assert source.treatments(MARCH_1, end) == (
        source.treatments(middle, end) + source.treatments(MARCH_1, middle))
    assert source.devicestatus(MARCH_1, end) == (
        source.devicestatus(middle, end) + source.devicestatus(MARCH_1, middle))


def test_a_day_generated_alone_matches_the_same_day_inside_a_longer_window():
    source = SimulatedSource("demo-ben")
    week = source.entries(T0, T0 + 7 * DAY_MS)
    third_day = SimulatedSource("demo-ben").entries(T0 + 2 * DAY_MS, T0 + 3 * DAY_MS)
    assert [d for d in week if T0 + 2 * DAY_MS <= d["date"] < T0 + 3 * DAY_MS] == third_day


@pytest.mark.parametrize(("subject", "per_day"), [("demo-ana", 288), ("demo-ben", 288), ("demo-cleo", 1440)])
def test_sites_upload_one_reading_per_interval_minus_gaps(subject, per_day):
    readings = [d for d in month_of_entries(subject) if d["type"] == "sgv"]
    devices = Counter(d["device"] for d in readings)
    main_device = devices.most_common(1)[0][1]
    assert 0.9 * 30 * per_day < main_device <= 30 * per_day


@pytest.mark.parametrize("subject", SUBJECTS)
def test_entries_are_shaped_like_the_api_and_come_newest_first(subject):
    entries = SimulatedSource(subject).entries(T0, T0 + DAY_MS)
    assert [d["date"] for d in entries] == sorted((d["date"] for d in entries), reverse=True)
    for doc in entries:
        assert HEX_ID.match(doc["_id"]) and T0 <= doc["date"] < T0 + DAY_MS
        iso = datetime.fromtimestamp(doc["date"] / 1000, UTC).isoformat(timespec="milliseconds")
        assert doc["dateString"] == doc["sysTime"] == iso.replace("+00:00", "Z")
        assert isinstance(doc["utcOffset"], int) and isinstance(doc["device"], str)
    for doc in (d for d in entries if d["type"] == "sgv"):
        assert set(doc) == {"_id", "type", "sgv", "direction", "trend", "noise", "date", "dateString",
                            "sysTime", "utcOffset", "device"}
    assert len({d["_id"] for d in entries}) == len(entries)


def test_readings_carry_a_few_seconds_of_clock_jitter():
    entries = [d for d in SimulatedSource("demo-ana").entries(T0, T0 + DAY_MS) if d["type"] == "sgv"]
    seconds_past_slot = {(d["date"] % 300_000) // 1000 for d in entries}
    assert len(seconds_past_slot) > 5 and max(seconds_past_slot) < 30


def test_the_readings_hold_the_promised_quirks():
    ben = month_of_entries("demo-ben")
    values = Counter(d["sgv"] for d in ben if d["type"] == "sgv")
    assert values[39] > 0 and values[401] > 0  # LOW and HIGH as the sensor reports them
    assert any(v < 39 for v in values)  # CGM error codes
    assert Counter(d["type"] for d in ben)["mbg"] > 0
    assert Counter(d["type"] for d in month_of_entries("demo-ana"))["cal"] > 0
    readings = sorted((d for d in ben if d["type"] == "sgv"), key=lambda d: d["date"])
    steps = [b["date"] - a["date"] for a, b in zip(readings, readings[1:])]
    assert max(steps) > 3_600_000  # a gap of more than an hour
    near_duplicates = [(a, b) for a, b in zip(readings, readings[1:]) if b["date"] - a["date"] < 10_000]
    assert near_duplicates
    assert all(a["sgv"] == b["sgv"] and a["device"] != b["device"] and a["_id"] != b["_id"]
               for a, b in near_duplicates)


def test_one_site_crosses_a_daylight_saving_change():
    end_of_march = datetime(2024, 3, 31, tzinfo=UTC)
    ms = int(end_of_march.timestamp() * 1000)
    offsets = {d["utcOffset"] for d in SimulatedSource("demo-ana").entries(ms, ms + DAY_MS)}
    assert offsets == {60, 120}  # Berlin: CET until 01:00 UTC, then CEST


def test_treatments_hold_every_event_type_with_nulls_where_the_api_puts_them():
    treatments = SimulatedSource("demo-ben").treatments(MARCH_1, MARCH_1 + timedelta(days=14))
    by_type = {t["eventType"]: t for t in treatments}
    assert {"Meal Bolus", "Correction Bolus", "Carb Correction", "Temp Basal", "Note"} <= set(by_type)
    assert by_type["Meal Bolus"]["insulin"] > 0 and by_type["Meal Bolus"]["carbs"] > 0
    assert by_type["Correction Bolus"]["carbs"] is None and by_type["Correction Bolus"]["insulin"] > 0
    assert by_type["Carb Correction"]["insulin"] is None and by_type["Carb Correction"]["carbs"] > 0
    assert by_type["Temp Basal"]["carbs"] is None and by_type["Temp Basal"]["insulin"] is None
    assert all({"carbs", "insulin", "created_at", "utcOffset", "_id"} <= set(t) for t in treatments)


def test_devicestatus_arrives_every_five_minutes_loop_style():
    statuses = SimulatedSource("demo-ana").devicestatus(MARCH_1, MARCH_1 + timedelta(days=1))
    assert len(statuses) == 288
    newest = statuses[0]
    assert newest["device"].startswith("loop://") and 0 <= newest["uploader"]["battery"] <= 100
    assert newest["pump"]["reservoir"] > 0
    assert "iob" in newest["loop"]["iob"] and "cob" in newest["loop"]["cob"]
    assert len(newest["loop"]["predicted"]["values"]) == 24


@pytest.mark.parametrize(("subject", "units"),
                         [("demo-ana", "mmol"), ("demo-ben", "mg/dl"), ("demo-cleo", "mmol")])
def test_each_site_has_one_profile_with_a_timezone_and_its_units(subject, units):
    (profile,) = SimulatedSource(subject).profiles()
    store = profile["store"][profile["defaultProfile"]]
    assert profile["units"] == store["units"] == units and "/" in store["timezone"]


def test_sixty_days_of_three_subjects_make_over_250_entries_a_day_each():
    # (How fast the sites make documents is measured by bench/, not here: a timed test is not a test.)
    days = 60
    sources = [SimulatedSource(f"bench-{i}") for i in range(3)]
    count = sum(len(s.entries(T0, T0 + days * DAY_MS)) for s in sources)
    assert count > 3 * days * 250


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("collection", ["entries", "treatments", "devicestatus"])
def test_serialized_documents_are_exactly_what_orjson_makes_of_the_dicts(subject, collection):
    # One March day crossing Berlin's daylight-saving change: every kind of document, both offsets.
    source, start = SimulatedSource(subject), T0 + 30 * DAY_MS
    table = source.serialized(collection, start, start + DAY_MS)
    texts, ids = table.column("document").to_pylist(), table.column("doc_id").to_pylist()
    documents = [orjson.loads(text) for text in texts]
    assert texts == [orjson.dumps(doc).decode() for doc in documents]  # compact, orjson's floats
    assert ids == [doc["_id"] for doc in documents] and len(texts) >= 3
    by_method = {"entries": lambda: source.entries(start, start + DAY_MS),
                 "treatments": lambda: source.treatments(*(datetime.fromtimestamp(ms / 1000, UTC)
                                                           for ms in (start, start + DAY_MS))),
                 "devicestatus": lambda: source.devicestatus(*(datetime.fromtimestamp(ms / 1000, UTC)
                                                               for ms in (start, start + DAY_MS)))}
    assert by_method[collection]() == documents


def test_decimals_are_written_as_python_writes_the_rounded_floats():
    values = np.array([0.0, 0.04, 0.05, 0.15, 0.25, 1.005, 2.675, 180.0, 171.25, 12.1, -0.04, -3.456,
                       99.999, 1e-3, 7.0 / 3.0])
    values = np.concatenate([values, np.random.default_rng(7).uniform(-500, 500, 2000)])
    for places in (1, 2):
        expected = [orjson.dumps(float(v)).decode() for v in np.round(values, places)]
        assert decimals_text(values, places).to_pylist() == expected
        assert expected[:2] == (["0.0", "0.0"] if places == 1 else ["0.0", "0.04"])


def test_an_unknown_collection_is_refused():
    with pytest.raises(ValueError, match="unknown collection 'profile'"):
        SimulatedSource("demo-ana").serialized("profile", T0, T0 + DAY_MS)
