"""Shared fixtures: a seeded synthetic CGM data set and iglu_python set up for wall-clock time.

The synthetic readings imitate a Dexcom stream: 5-minute cadence from a random time of the first
day, about a third of readings with a few seconds of clock jitter, gaps from 10 minutes to 7
hours, and values clipped to the sensor range as reported (39 = LOW, 401 = HIGH). Subjects differ
in level so that every threshold (54, 70, 180, 250) and every episode kind is crossed.

Two choices keep iglu_python comparable with R on this data, each tested on its own elsewhere:
most gaps between readings are exactly 5 minutes, so iglu_python's mode-based grid step is 5 like
R's round(median); and no gap is 175-195 minutes long and gaps are hours apart, so MAGE's
segments are the same under R's and iglu_python's rules (split, minimum length).
"""

import numpy as np
import pandas as pd
import polars as pl
import pytest

# (mean, daily swing, meal swing) in mg/dL per subject: low, high and mid glucose
SUBJECT_LEVELS = ((112.0, 40.0, 35.0), (225.0, 95.0, 60.0), (150.0, 60.0, 50.0))
GAP_MINUTES = (10, 20, 40, 60, 95, 150, 240, 420)


def make_readings(seed: int = 20240301, n_days: int = 4, jitter: bool = True) -> pl.DataFrame:
    """Synthetic readings: subject_id, local_ts (naive datetime), glucose_mg_dl (float)."""
    rng = np.random.default_rng(seed)
    frames = []
    for number, (mean, daily, meal) in enumerate(SUBJECT_LEVELS):
        n = n_days * 288
        start = np.datetime64("2024-03-01T00:00:00") + np.timedelta64(int(rng.integers(0, 1440)), "m")
        seconds = np.arange(n, dtype=np.int64) * 300
        if jitter:  # a third of the readings a few seconds off the 5-minute beat
            off = rng.random(n) < 1 / 3
            seconds[off] += rng.choice([-4, -3, -2, -1, 1, 2, 3, 4], size=off.sum())
        hours = seconds / 3600
        noise = np.zeros(n)
        for i in range(1, n):  # AR(1): smooth, like interstitial glucose
            noise[i] = 0.95 * noise[i - 1] + rng.normal(0, 5)
        glucose = (
            mean
            + daily * np.sin(2 * np.pi * (hours / 24 + rng.random()))
            + meal * np.sin(2 * np.pi * hours / 4.7) ** 3
            + 1.5 * noise
        ).round()
        glucose = np.where(glucose < 40, 39.0, np.where(glucose > 400, 401.0, glucose))
        keep = np.ones(n, dtype=bool)
        # gaps start 11 hours apart (+ up to 1 hour): at least 3 hours of data between two gaps
        # and after the last one, so every MAGE segment has more than long_ma = 32 points
        for k, gap in enumerate(rng.permutation(GAP_MINUTES)):
            gap_start = 360 + 660 * k + int(rng.integers(0, 60))
            minutes = seconds / 60
            keep &= ~((minutes > gap_start) & (minutes < gap_start + gap))
        frames.append(
            pl.DataFrame(
                {
                    "subject_id": f"subject-{number}",
                    "local_ts": (start + seconds[keep].astype("timedelta64[s]")).astype("datetime64[us]"),
                    "glucose_mg_dl": glucose[keep],
                }
            )
        )
    return pl.concat(frames)


def to_iglu(readings: pl.DataFrame) -> pd.DataFrame:
    """iglu's input layout: id, time (naive), gl."""
    return readings.rename({"subject_id": "id", "local_ts": "time", "glucose_mg_dl": "gl"}).to_pandas()


@pytest.fixture(scope="session")
def synthetic() -> pl.DataFrame:
    """Three subjects, four days, jittered clock, gaps, LOW and HIGH values."""
    return make_readings()


@pytest.fixture(scope="session")
def synthetic_iglu(synthetic: pl.DataFrame) -> pd.DataFrame:
    return to_iglu(synthetic)


@pytest.fixture(scope="session")
def synthetic_by_subject(synthetic: pl.DataFrame) -> dict[str, pl.DataFrame]:
    return {key[0]: part for key, part in synthetic.partition_by("subject_id", as_dict=True).items()}


@pytest.fixture(scope="session")
def iglu_frame():
    """Factory: our readings frame -> iglu's input layout."""
    return to_iglu


@pytest.fixture(scope="session")
def readings_factory():
    """Factory: make_readings(seed, n_days, jitter) for variants of the synthetic data."""
    return make_readings
