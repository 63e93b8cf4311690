"""lake.metrics.active: R iglu's active_percent, by hand and against iglu_python."""

import numpy as np
import pytest

from lake.metrics.active import active_percent, period_active_percent

pytestmark = pytest.mark.filterwarnings("ignore::Warning:iglu_python")


def minutes(*offsets: float) -> np.ndarray:
    """Reading times at these minute offsets from 2024-01-01 06:00."""
    seconds = np.round(np.array(offsets) * 60).astype("timedelta64[s]")
    return (np.datetime64("2024-01-01T06:00:00") + seconds).astype("datetime64[ns]")


def test_active_percent_is_100_for_an_unbroken_series():
    assert active_percent(minutes(*range(0, 60, 5))) == 100.0


def test_active_percent_counts_the_readings_missing_from_gaps():
    # 6 expected readings (0..25 min every 5), the one at 15 missing
    assert active_percent(minutes(0, 5, 10, 20, 25)) == pytest.approx(100 * 5 / 6)


def test_active_percent_does_not_count_clock_jitter_as_a_gap():
    # gaps alternate 5 min 24 s and 4 min 36 s: each rounds to 5 min, so R sees no gap
    times = minutes(*np.cumsum([0] + [5.4, 4.6] * 10))
    assert active_percent(times) == 100.0


def test_active_percent_counts_equal_timestamps_once_and_needs_two_readings():
    assert active_percent(minutes(0, 5, 5, 10, 20)) == pytest.approx(100 * 4 / 5)
    assert np.isnan(active_percent(minutes(0)))
    assert np.isnan(active_percent(minutes(0, 0)))


def test_active_percent_agrees_with_iglu_python_without_clock_jitter(readings_factory, iglu_frame, iglu):
    readings = readings_factory(jitter=False)
    theirs = iglu.active_percent(iglu_frame(readings)).set_index("id")["active_percent"]
    for (sid,), part in readings.partition_by("subject_id", as_dict=True).items():
        assert active_percent(part["local_ts"].to_numpy()) == pytest.approx(theirs[sid], rel=1e-12), sid


def _active_from_gaps(gaps: np.ndarray, is_gap: np.ndarray) -> float:
    """R iglu's formula given which gaps count (the test's own reading of the R source)."""
    dt0 = np.round(np.median(gaps))
    expected = np.round(np.round(gaps.sum()) / dt0) + 1
    missing = np.round((gaps[is_gap].sum() - is_gap.sum() * dt0) / dt0)
    return 100 * (expected - missing) / expected


def test_active_percent_rounds_gaps_as_r_where_iglu_python_counts_jittered_ones(
    synthetic_by_subject, synthetic_iglu, iglu
):
    theirs = iglu.active_percent(synthetic_iglu.copy()).set_index("id")["active_percent"]
    for sid, part in synthetic_by_subject.items():
        times = part["local_ts"].to_numpy()
        gaps = np.diff(times.astype("datetime64[ns]").astype(np.int64)) / 60e9
        dt0 = np.round(np.median(gaps))
        ours = active_percent(times)
        assert ours == pytest.approx(_active_from_gaps(gaps, np.round(gaps) > dt0), rel=1e-12)  # R
        assert theirs[sid] == pytest.approx(_active_from_gaps(gaps, gaps > dt0), rel=1e-12)  # iglu_python
        assert ours > theirs[sid]  # the 5 min 1 s gaps make iglu_python count extra missing readings


def test_daily_active_percent_treats_each_subject_day_as_its_own_series():
    from datetime import date

    import polars as pl

    from lake.metrics.subject import daily_active_percent

    day1, day2 = minutes(*range(0, 60, 5)), minutes(1440, 1445, 1450, 1460, 1465)  # day 2: one missing
    readings = pl.DataFrame({
        "subject_id": ["a"] * (day1.size + day2.size) + ["b"],
        "local_day": [date(2024, 1, 1)] * day1.size + [date(2024, 1, 2)] * day2.size + [date(2024, 1, 1)],
        # one array: Polars reads a list of numpy datetime64[ns] scalars as microseconds (year 55970)
        "local_ts": np.concatenate([day1, day2, minutes(0)]),
    })
    active = daily_active_percent(readings).sort("subject_id", "day")
    # active_pct from the first reading to the last; period_active_pct over the whole day (288 readings)
    assert active.rows() == [
        ("a", date(2024, 1, 1), 100.0, pytest.approx(100 * 12 / 288)),
        ("a", date(2024, 1, 2), pytest.approx(100 * 5 / 6), pytest.approx(100 * 5 / 288)),
        ("b", date(2024, 1, 1), None, None)]  # one reading: undefined, not 0 or 100


def test_period_active_percent_counts_the_whole_period_where_the_automatic_range_does_not():
    # Readings every 5 minutes on the last 4 days of a 14-day period only.
    last_four_days = minutes(*range(10 * 1440, 14 * 1440, 5))
    assert active_percent(last_four_days) == 100.0  # first to last reading: nothing missing
    assert period_active_percent(last_four_days, 14) == pytest.approx(100 * 4 / 14)


def test_period_active_percent_of_a_day_with_readings_until_8_am_only():
    # 00:00 .. 08:00 every 5 minutes (97 readings) of a 1-day period; cf. 100% on the automatic range
    times = minutes(*range(-360, 121, 5))
    assert active_percent(times) == 100.0
    assert period_active_percent(times, 1) == pytest.approx(100 * 97 / 288)


def test_period_active_percent_uses_the_series_own_cadence_and_needs_two_readings():
    every_minute = minutes(*range(0, 720))  # half a day of 1-minute readings: dt0 = 1
    assert period_active_percent(every_minute, 1) == pytest.approx(50.0)
    assert period_active_percent(minutes(0, 5, 5, 10), 1) == pytest.approx(100 * 3 / 288)  # 5 counted once
    assert np.isnan(period_active_percent(minutes(0), 14))


def test_period_active_percent_agrees_with_iglu_python_manual_range(readings_factory, iglu_frame, iglu):
    # Five local days, 2024-03-01 .. 03-05, hold every reading; iglu's manual range is the 5 days
    # ending at the next midnight (its range is inclusive, and no reading falls on that midnight).
    readings = readings_factory(jitter=False)
    assert readings["local_ts"].min().date().isoformat() == "2024-03-01"
    assert readings["local_ts"].max().date().isoformat() == "2024-03-05"
    theirs = iglu.active_percent(iglu_frame(readings), range_type="manual", ndays=5,
                                 consistent_end_date="2024-03-06 00:00:00").set_index("id")["active_percent"]
    for (sid,), part in readings.partition_by("subject_id", as_dict=True).items():
        ours = period_active_percent(part["local_ts"].to_numpy(), 5)
        assert ours == pytest.approx(theirs[sid], rel=1e-12), sid
        assert ours < active_percent(part["local_ts"].to_numpy())  # the period's ends count too


def berlin_day(day: str, utc_start: str, hours: int, change_at_utc: str, before: int, after: int):
    """A local day of 5-minute readings exactly on the minute, by their UTC instants, in Berlin
    time: the UTC offset is `before` until `change_at_utc`, then `after` (minutes)."""
    from datetime import date

    import polars as pl

    utc = np.datetime64(utc_start, "m") + np.arange(hours * 12) * np.timedelta64(5, "m")
    offset = np.where(utc < np.datetime64(change_at_utc, "m"), before, after)
    local = (utc + offset.astype("timedelta64[m]")).astype("datetime64[us]")
    return pl.DataFrame({"subject_id": "a", "local_day": date.fromisoformat(day), "local_ts": local,
                         "utc_offset_min": offset.astype(np.int32)})


@pytest.mark.parametrize(("day", "utc_start", "hours", "change", "before", "after", "wall_clock"), [
    # clocks back: 300 readings, the repeated hour's local times equal the first's
    ("2024-10-27", "2024-10-26T22:00", 25, "2024-10-27T01:00", 120, 60, 100.0),
    # clocks forward: 276 readings; iglu's wall clock sees the skipped hour as a gap
    ("2024-03-31", "2024-03-30T23:00", 23, "2024-03-31T01:00", 60, 120, 100 * 276 / 288),
])
def test_period_active_percent_of_a_complete_daylight_saving_day_is_100(day, utc_start, hours, change, before,
                                                                         after, wall_clock):
    from lake.metrics.subject import daily_active_percent

    readings = berlin_day(day, utc_start, hours, change, before, after)
    assert readings["local_ts"].dt.date().unique().to_list() == [readings["local_day"][0]]  # one local day
    ((_, _, automatic, period),) = daily_active_percent(readings).rows()
    assert period == pytest.approx(100.0)
    assert automatic == pytest.approx(wall_clock)  # active_pct stays iglu's
