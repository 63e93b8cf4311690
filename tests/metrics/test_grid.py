"""lake.metrics.grid: R iglu's CGMS2DayByDay grid, by hand and against iglu_python."""

import numpy as np
import pandas as pd
import pytest

from lake.metrics.grid import clean_readings, day_by_day, grid_step

pytestmark = pytest.mark.filterwarnings("ignore::Warning:iglu_python")


def at(*clock: str, day: str = "2024-01-01") -> np.ndarray:
    """Reading times on one day from 'HH:MM' or 'HH:MM:SS' strings."""
    return np.array([f"{day}T{c}" for c in clock], dtype="datetime64[ns]")


def values(*gl: float) -> np.ndarray:
    return np.array(gl, dtype=float)


def test_grid_starts_at_five_past_midnight_and_ends_at_midnight_after_the_last_day():
    grid = day_by_day(at("00:03", "00:08"), values(100, 110), dt0=5)
    times = grid.times()
    assert times[0] == np.datetime64("2024-01-01T00:05")
    # ndays = ceiling(days(last - first) + 1) = 2: R adds a trailing day with no data
    assert grid.values.shape == (2, 288)
    assert times[-1] == np.datetime64("2024-01-03T00:00")
    assert np.isnan(grid.values[1]).all()


def test_grid_interpolates_linearly_and_is_missing_outside_the_readings():
    grid = day_by_day(at("00:03", "00:08", "00:20"), values(100, 110, 170), dt0=5)
    assert grid.flat[:4].tolist() == pytest.approx([104.0, 120.0, 145.0, 170.0])  # 00:05 .. 00:20
    assert np.isnan(grid.flat[4:]).all()  # after the last reading (approx rule = 1)


def test_grid_bridges_a_45_minute_gap_but_not_a_longer_one():
    bridged = day_by_day(at("01:00", "01:45"), values(100, 190), dt0=5)
    assert bridged.flat[11:21].tolist() == pytest.approx([100 + 10 * k for k in range(10)])
    broken = day_by_day(at("01:00", "01:50"), values(100, 200), dt0=5)
    assert broken.flat[11] == 100.0 and broken.flat[21] == 200.0  # the readings themselves
    assert np.isnan(broken.flat[12:21]).all()  # strictly inside the 50-minute gap


def test_grid_keeps_the_last_of_equal_timestamps_and_drops_missing_glucose():
    times, glucose = clean_readings(at("00:10", "00:05", "00:10", "00:15"), values(100, 90, 120, np.nan))
    assert times.tolist() == at("00:05", "00:10").tolist()
    assert glucose.tolist() == [90.0, 120.0]
    assert day_by_day(at("00:10", "00:05", "00:10"), values(100, 90, 120), dt0=5).flat[1] == 120.0


@pytest.mark.parametrize(
    ("minutes_apart", "dt0"),
    [(5, 5), (10, 10), (7, 5), (13, 15), (14, 15), (25, 20), (2.5, 2)],  # 2.5 rounds half to even
)
def test_grid_step_is_the_rounded_median_gap_made_to_divide_a_day(minutes_apart, dt0):
    times = np.datetime64("2024-01-01T00:00") + (np.arange(10) * minutes_apart * 60).astype("timedelta64[s]")
    assert grid_step(times.astype("datetime64[ns]")) == dt0


def test_grid_step_above_the_interpolation_gap_or_from_one_reading_is_an_error():
    with pytest.raises(ValueError, match="above the interpolation gap"):
        grid_step(at("00:00", "00:50", "01:40"))
    with pytest.raises(ValueError, match="two readings"):
        grid_step(at("00:00"))


def test_grid_agrees_with_iglu_python_on_the_days_both_have(synthetic_iglu, iglu):
    for sid, d in synthetic_iglu.groupby("id"):
        ours = day_by_day(d["time"].to_numpy(), d["gl"].to_numpy())
        theirs, dates, dt0 = iglu.CGMS2DayByDay(d.copy())
        assert ours.dt0 == dt0 == 5, sid
        assert pd.Timestamp(ours.first_day) == pd.Timestamp(dates[0]), sid
        common = theirs.shape[0]
        np.testing.assert_allclose(ours.values[:common], theirs, rtol=1e-12, equal_nan=True)
        # R's ndays can add a day iglu_python leaves out; it never has data
        assert ours.values.shape[0] in (common, common + 1)
        assert np.isnan(ours.values[common:]).all()


def test_grid_step_is_r_iglus_rounded_median_where_iglu_python_truncates_the_mode(iglu):
    # gaps of 4 min 58 s (most) and 5 min 2 s: median 4.97 min rounds to 5; the mode truncates to 4
    gaps = np.resize([298, 298, 302], 60)
    times = np.datetime64("2024-01-01T06:00:00") + np.cumsum(gaps).astype("timedelta64[s]")
    glucose = 100 + 20 * np.sin(np.arange(60) / 5)
    frame = pd.DataFrame({"id": "s", "time": times.astype("datetime64[ns]"), "gl": glucose})
    assert day_by_day(times, glucose).dt0 == 5
    assert iglu.CGMS2DayByDay(frame)[2] == 4
