"""lake.metrics.agp: AGP percentiles by time of day, by hand and on iglu_python's grid."""

import warnings

import numpy as np
import pytest

from lake.metrics.agp import PERCENTILES, agp, column_quantiles
from lake.metrics.grid import day_by_day

pytestmark = pytest.mark.filterwarnings("ignore::Warning:iglu_python")


def constant_days(*levels: float):
    """Readings every 5 minutes from 2024-01-01 00:00, each day at one constant level."""
    n = 288 * len(levels)
    times = np.datetime64("2024-01-01T00:00", "ns") + np.arange(n) * np.timedelta64(5, "m")
    return times, np.repeat(np.array(levels, dtype=float), 288)


def test_agp_has_one_row_per_grid_column_from_5_to_1440_minutes():
    profile = agp(day_by_day(*constant_days(100, 150, 200)))
    assert profile.columns == ["minute_of_day", "p05", "p25", "p50", "p75", "p95", "n_days"]
    assert profile.height == 288
    assert profile["minute_of_day"][0] == 5 and profile["minute_of_day"][-1] == 1440


def test_agp_percentiles_are_r_type_7_across_days():
    profile = agp(day_by_day(*constant_days(100, 150, 200)))
    # type 7 on (100, 150, 200): 100 + (n - 1) * p * 50
    assert profile.row(0) == (5, 105.0, 125.0, 150.0, 175.0, 195.0, 3)
    # the 24:00 column holds the next midnight's readings: 150 and 200; the last has none
    assert profile.row(287) == (1440, 152.5, 162.5, 175.0, 187.5, 197.5, 2)


def test_agp_columns_without_data_have_null_percentiles_and_zero_days():
    times = np.datetime64("2024-01-01T06:00", "ns") + np.arange(13) * np.timedelta64(5, "m")
    profile = agp(day_by_day(times, np.linspace(100, 160, 13), dt0=5))
    assert profile.filter(minute_of_day=300).row(0) == (300, None, None, None, None, None, 0)
    assert profile.filter(minute_of_day=360).row(0) == (360, 100.0, 100.0, 100.0, 100.0, 100.0, 1)


def test_agp_matches_type_7_percentiles_of_iglu_pythons_grid(synthetic_iglu, iglu):
    for sid, d in synthetic_iglu.groupby("id"):
        gd2d, _, _ = iglu.CGMS2DayByDay(d.copy())
        with warnings.catch_warnings():  # all-missing columns give NaN, which is what we want
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = np.nanpercentile(gd2d, [5, 25, 50, 75, 95], axis=0)
        profile = agp(day_by_day(d["time"].to_numpy(), d["gl"].to_numpy()))
        for name, column in zip(["p05", "p25", "p50", "p75", "p95"], expected, strict=True):
            np.testing.assert_allclose(profile[name].to_numpy(), column, rtol=1e-12, err_msg=sid)
        assert profile["n_days"].to_list() == (~np.isnan(gd2d)).sum(axis=0).tolist()


@pytest.mark.parametrize("seed", range(5))
def test_column_quantiles_equal_numpys_nanquantile_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(150, 50, (40, 30)).round(seed % 3)  # rounded: ties among the values
    values[rng.random(values.shape) < 0.3] = np.nan
    values[:, 0] = np.nan
    values[39, 0] = 123.0  # a column with one value
    counts = (~np.isnan(values)).sum(axis=0)
    probs = list(PERCENTILES.values())
    expected = np.nanquantile(values, probs, axis=0, method="linear")
    assert np.array_equal(column_quantiles(values, counts, probs), expected)
