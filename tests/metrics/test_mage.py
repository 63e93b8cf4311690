"""lake.metrics.mage: MAGE (version 'ma'), by hand and against iglu_python."""

import statistics

import numpy as np
import pandas as pd
import pytest

from lake.metrics.mage import _right_mean, mage
from lake.metrics.subject import grid_metrics_by_subject
from tests.metrics.conftest import make_readings, to_iglu

pytestmark = pytest.mark.filterwarnings("ignore::Warning:iglu_python")


def pieces(*parts: tuple[str, list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Readings every 5 minutes: each part is (first reading time, its glucose values)."""
    times, glucose = [], []
    for start, values in parts:
        times.append(np.datetime64(start, "ns") + np.arange(len(values)) * np.timedelta64(5, "m"))
        glucose.append(np.asarray(values, dtype=float))
    return np.concatenate(times), np.concatenate(glucose)


def square(low: float, high: float, points_per_level: int, levels: int) -> list[float]:
    """low, high, low, ... each level held for points_per_level readings."""
    return [low if k % 2 == 0 else high for k in range(levels) for _ in range(points_per_level)]


# Levels are held for fewer than 32 readings: where both moving averages sit on one flat level
# their difference is exactly 0, which iglu (R and Python) treats as no sign at all.
A = ("2024-01-01T01:00", square(100, 200, 24, 6))  # 01:00-12:55: steps of 100 every 2 hours
B = ("2024-01-01T17:00", square(100, 150, 18, 4))  # 17:00-22:55: steps of 50 every 1.5 hours


def iglu_frame(times: np.ndarray, glucose: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"id": "s", "time": times, "gl": glucose})


def test_mage_of_a_square_wave_is_its_step_height():
    assert mage(*pieces(A)) == pytest.approx(100.0, rel=1e-12)


def test_mage_of_a_flat_trace_is_undefined():
    assert np.isnan(mage(*pieces(("2024-01-01T01:00", [120.0] * 100))))


def test_mage_splits_at_gaps_over_180_minutes_and_weights_segments_by_length():
    # A and B are 245 minutes apart: two segments, 715 and 355 minutes long, each with a MAGE+
    # and a MAGE- row of its own step height
    expected = (100 * 715 * 2 + 50 * 355 * 2) / (715 * 2 + 355 * 2)
    assert mage(*pieces(A, B)) == pytest.approx(expected, rel=1e-12)


def test_mage_ignores_segments_shorter_than_the_long_moving_average():
    short = ("2024-01-01T18:00", square(100, 250, 10, 2))  # 20 readings (< 32) after a 5-hour gap
    assert mage(*pieces(A, short)) == pytest.approx(100.0, rel=1e-12)


def test_mage_ignores_short_segments_where_iglu_python_counts_them(iglu):
    short = ("2024-01-01T18:00", square(100, 250, 10, 2))
    ours = mage(*pieces(A, short))
    theirs_all = iglu.mage(iglu_frame(*pieces(A, short)))["MAGE"].iloc[0]
    theirs_without = iglu.mage(iglu_frame(*pieces(A)))["MAGE"].iloc[0]
    assert ours == pytest.approx(theirs_without, rel=1e-12)  # R: < long_ma points -> no value
    assert theirs_all > ours + 1  # iglu_python averages the short segment's 150 in


def test_a_gap_of_exactly_180_minutes_does_not_split_in_r_but_does_in_iglu_python(iglu):
    # B starts 185 min after A's last reading: 36 missing grid points, 36 * 5 = 180, not > 180
    trace = pieces(A, ("2024-01-01T16:00", B[1]))
    frame = iglu_frame(*trace)
    ours = mage(*trace)
    # iglu_python splits when (missing points + 1) * 5 > max_gap, so its max_gap=185 is R's 180
    assert ours == pytest.approx(iglu.mage(frame, max_gap=185)["MAGE"].iloc[0], rel=1e-12)
    assert mage(*trace, max_gap=175) == pytest.approx(iglu.mage(frame)["MAGE"].iloc[0], rel=1e-12)
    assert ours != pytest.approx(iglu.mage(frame)["MAGE"].iloc[0], rel=1e-3)


def test_mage_agrees_with_iglu_python(synthetic_by_subject, synthetic_iglu, iglu):
    theirs = iglu.mage(synthetic_iglu.copy()).set_index("id")["MAGE"]
    for sid, part in synthetic_by_subject.items():
        ours = mage(part["local_ts"].to_numpy(), part["glucose_mg_dl"].to_numpy())
        assert ours == pytest.approx(theirs[sid], rel=1e-6), sid


def test_short_and_long_moving_means_of_the_same_readings_are_exactly_equal():
    # Just after a gap longer than the long window, both windows hold the same three readings:
    # R's means are then equal and their difference exactly 0 (no sign, so no crossing).
    gl = np.array([120.0] * 40 + [np.nan] * 40
                  + [157.0100671140938, 157.9933554817275, 164.0, 151.89, 140.81188118811812, 122.0])
    short, long = _right_mean(gl, 5), _right_mean(gl, 32)
    assert np.array_equal(short[80:83], long[80:83])
    assert short[82] == statistics.fmean(gl[80:83])


# A subject of each trace has a gap followed by readings where both moving windows hold the same
# readings: (1, 5) made iglu_python's means differ by ~1e-14 there, (99, 6) made ours differ.
@pytest.mark.parametrize(("seed", "n_days"), [(1, 5), (99, 6)])
def test_mage_equals_iglu_python_given_rs_moving_means(iglu_r_means, seed, n_days):
    readings = make_readings(seed=seed, n_days=n_days)
    ours = {row["subject_id"]: row["mage"] for row in grid_metrics_by_subject(readings).to_dicts()}
    theirs = iglu_r_means.mage(to_iglu(readings)).set_index("id")["MAGE"]
    assert ours == pytest.approx(theirs.to_dict(), rel=1e-9)


def test_pandas_rolling_means_make_iglu_python_differ_from_r(iglu):
    # On this trace that noise moves one subject's MAGE by about 1% in iglu_python as released.
    readings = make_readings(seed=1, n_days=5)
    ours = {row["subject_id"]: row["mage"] for row in grid_metrics_by_subject(readings).to_dicts()}
    as_released = iglu.mage(to_iglu(readings)).set_index("id")["MAGE"]
    assert max(abs(ours[s] - v) / v for s, v in as_released.items()) > 1e-3
