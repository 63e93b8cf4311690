"""lake.metrics.variability: MODD and CONGA on the grid, by hand and against iglu_python."""

import statistics

import numpy as np
import pytest

from lake.metrics.grid import day_by_day
from lake.metrics.variability import conga, modd

pytestmark = pytest.mark.filterwarnings("ignore::Warning:iglu_python")


def days_of_readings(day_offsets: list[float]):
    """Readings every 5 minutes from 2024-01-01 00:00, one day per offset: a daily wave + offset."""
    n = 288 * len(day_offsets)
    minute = np.arange(n) * 5
    glucose = 120 + 30 * np.sin(2 * np.pi * minute / 1440) + np.repeat(day_offsets, 288)
    times = np.datetime64("2024-01-01T00:00", "ns") + (minute * 60).astype("timedelta64[s]")
    return times, glucose


def test_modd_is_the_mean_absolute_change_from_the_same_time_the_day_before():
    grid = day_by_day(*days_of_readings([0, 10]))
    assert modd(grid) == pytest.approx(10.0, rel=1e-12)


def test_conga_24_is_the_sample_sd_of_24_hour_differences():
    grid = day_by_day(*days_of_readings([0, 10, 30]))
    # grid points 00:05 .. 24:00: day 2's 00:00 reading is day 1's 24:00 point, so 287 differences
    # of 10 (day 1 - day 0) and 288 of 20 (day 2 - day 1); day 0's 00:00 is not on the grid
    differences = [10.0] * 287 + [20.0] * 288
    assert conga(grid, hours=24) == pytest.approx(statistics.stdev(differences), rel=1e-9)
    assert modd(grid) == pytest.approx(statistics.mean(differences), rel=1e-9)


def test_conga_lag_is_hours_times_readings_per_hour():
    times, _ = days_of_readings([0])
    # A ramp of +0.5 mg/dL every 5 minutes plus a square wave, 10 mg/dL high for 1 hour, low for the
    # next: 1 hour (12 readings) apart the changes are 6 - 10 or 6 + 10, in equal numbers; 2 hours
    # apart every change is +12 (SD 0), so a doubled or halved lag gives another value.
    i = np.arange(times.size)
    grid = day_by_day(times, 100 + 0.5 * i + 10 * (i % 24 < 12))
    # Grid points 1 .. 287 (00:05 .. 23:55; 24:00 has no reading): 275 pairs 12 points apart.
    changes = [6 + 10 * ((j + 12) % 24 < 12) - 10 * (j % 24 < 12) for j in range(1, 276)]
    assert set(changes) == {-4, 16}
    assert conga(grid, hours=1) == pytest.approx(statistics.stdev(changes), rel=1e-9)
    assert conga(grid, hours=2) == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(conga(grid, hours=24))  # no two points a day apart


def test_modd_needs_two_days_at_the_same_time_of_day():
    times, glucose = days_of_readings([0])
    assert np.isnan(modd(day_by_day(times[:100], glucose[:100])))


def test_modd_and_conga_agree_with_iglu_python(synthetic_by_subject, synthetic_iglu, iglu):
    their_modd = iglu.modd(synthetic_iglu.copy()).set_index("id")["MODD"]
    their_conga = iglu.conga(synthetic_iglu.copy()).set_index("id")["CONGA"]
    for sid, part in synthetic_by_subject.items():
        grid = day_by_day(part["local_ts"].to_numpy(), part["glucose_mg_dl"].to_numpy())
        assert modd(grid) == pytest.approx(their_modd[sid], rel=1e-6), sid
        assert conga(grid, hours=24) == pytest.approx(their_conga[sid], rel=1e-6), sid
