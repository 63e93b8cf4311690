"""Percentage of time the CGM was active (R iglu `active_percent`, automatic and manual range).

active_pct = 100 * (expected - missing) / expected readings over the observed period, in %:

* dt0 = round(median gap between readings) in minutes, per series (a subject's period, or one
  subject-day for gold.daily_glucose);
* expected = round(round(minutes from first to last reading) / dt0) + 1;
* a gap is a pair of consecutive readings with round(gap) > dt0, and
  missing = round((sum of those gaps - number of gaps * dt0) / dt0).

This follows R iglu 4.3.0, not iglu_python: iglu_python counts a gap when the unrounded gap is
> dt0, so clock jitter of a few seconds (5 min 2 s) adds small "gaps" and its value is slightly
lower. One R quirk is not reproduced: R takes dt0 from the first subject of a multi-subject call
and reuses it for the rest; here each subject has its own dt0, as when R is called per subject.
Of readings with the same timestamp only one counts, as in R (which averages them).

period_active_pct (`period_active_percent`) is iglu's manual range with the whole period as the
range: 100 * readings / (period minutes / dt0), dt0 as above. Days without readings at either end
of the period count as missing here, where the automatic range starts at the first reading and
ends at the last: this is the consensus's "% time CGM active" over the period (at least 70% of 14
days for the metrics to be representative). Unlike iglu, which counts wall-clock minutes, the
period's minutes are its real length: a day on which clocks go back an hour lasts 25 hours and
expects 300 five-minute readings, not 288 (else a complete day would show 104%); the change of
UTC offset across the period is passed in. And the readings are counted as silver has them, one
per instant: in the hour that repeats on that day, two readings can have the same local time.

Why not Ibis: it needs per-subject ordered differences and a median that feeds back into the same
subject's aggregation; it is a few lines of numpy on one subject's times.
"""

import numpy as np

from .grid import NS_PER_MIN, minutes_between


def _distinct_times(times: np.ndarray) -> np.ndarray:
    times = np.asarray(times).astype("datetime64[ns]")
    if not (times[1:] > times[:-1]).all():  # cleaned readings already are (and hashing is slow)
        times = np.unique(times)
    return times


def active_percent(times: np.ndarray) -> float:
    """Percentage (0-100) of the observed period with CGM readings, as R iglu.

    Args:
        times: one subject's local wall-clock reading times (readings with missing glucose
            already removed).

    Returns:
        active percentage; NaN with fewer than two distinct reading times or a dt0 of 0.
    """
    return active_percents(times)[0]


def period_active_percent(times: np.ndarray, period_days: int, offset_change_min: float = 0,
                          n_readings: int | None = None) -> float:
    """Percentage of a period's possible readings present: iglu's range_type="manual" with the
    period (`period_days` whole local days, which `times` all fall in) as the range.

    Args:
        offset_change_min: the UTC offset at the period's end minus at its start (-60 across a
            change back from summer time), so the period's real length is taken.
        n_readings: the readings, one per instant (default: the distinct `times`).

    Returns:
        100 * n_readings / ((period_days * 1440 - offset_change_min) / dt0); NaN as
        `active_percent`. It can exceed 100 when readings come more often than dt0 (iglu does not
        cap it either).
    """
    return active_percents(times, period_days, offset_change_min, n_readings)[1]


def active_percents(times: np.ndarray, period_days: int | None = None, offset_change_min: float = 0,
                    n_readings: int | None = None) -> tuple[float, float]:
    """(active_percent, period_active_percent) of one series, worked out together: both need its
    distinct times and dt0. The second is NaN without `period_days`."""
    nan = float("nan")
    times = _distinct_times(times)
    if times.size < 2:
        return nan, nan
    gaps = minutes_between(times)
    dt0 = float(np.round(np.median(gaps)))
    if dt0 == 0:
        return nan, nan
    span = (times[-1] - times[0]).astype(np.int64) / NS_PER_MIN
    expected = np.round(np.round(span) / dt0) + 1
    is_gap = np.round(gaps) > dt0  # R rounds each gap before comparing; iglu_python does not
    missing = np.round((gaps[is_gap].sum() - is_gap.sum() * dt0) / dt0)
    automatic = float(100 * (expected - missing) / expected)
    if period_days is None:
        return automatic, nan
    n = times.size if n_readings is None else n_readings
    return automatic, float(100 * n / ((period_days * 1440 - offset_change_min) / dt0))
