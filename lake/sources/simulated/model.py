"""lake.sources.simulated.model: a simulated person's events and true glucose, as functions of time.

Events (meals, boluses, hypos and their carbs, workouts, late corrections) are drawn per *local*
calendar day, so breakfast happens in the morning wherever the person lives. Glucose is a pure
function of absolute time: a base level drifting from day to day, a dawn rise, slow wandering,
and one bump per event, each bump `amp * (x/tp) * exp(1 - x/tp)` for the x minutes since it began
(peak `amp` at `tp`, cut to 0 after 10 tp). Every bump that can reach a UTC day comes from local
days d-2..d+1, so any time range is evaluated the same whichever window asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from lake.sources.simulated.common import (
    DAY_MS, HOUR_MS, MINUTE_MS, local_noon_offset_min, rng_for, unit_normal, utc_offsets_min,
)
from lake.sources.simulated.personas import Persona


@dataclass
class DayEvents:
    """Everything a person does on one local day."""

    bump_ms: list[int] = field(default_factory=list)  # when each glucose bump starts
    bump_amp: list[float] = field(default_factory=list)  # its peak, mg/dL (negative: a dip)
    bump_tp: list[float] = field(default_factory=list)  # minutes to the peak
    insulin: list[tuple[int, float]] = field(default_factory=list)  # (ms, units) boluses
    carbs: list[tuple[int, int]] = field(default_factory=list)  # (ms, grams)
    treatments: list[tuple[int, str, dict]] = field(default_factory=list)  # (ms, eventType, fields)

    def bump(self, ms: float, amp: float, tp: float) -> None:
        self.bump_ms.append(int(ms))
        self.bump_amp.append(float(amp))
        self.bump_tp.append(float(tp))


def _units(p: Persona, units: float) -> float:
    return round(max(p.bolus_step, round(units / p.bolus_step) * p.bolus_step), 2)


class _Draws:
    """One local day's random numbers, drawn in two numpy calls and served one by one
    (dozens of scalar `rng` calls cost more than the rest of the day's events)."""

    def __init__(self, rng: np.random.Generator, hypos_per_day: float) -> None:
        self.hypos = min(int(rng.poisson(hypos_per_day)), 4)
        self._uniform = iter(rng.random(48).tolist())
        self._normal = iter(rng.standard_normal(12).tolist())

    def uniform(self, low: float = 0.0, high: float = 1.0) -> float:
        return low + (high - low) * next(self._uniform)

    def normal(self, sd: float) -> float:
        return sd * next(self._normal)


@lru_cache(maxsize=256)
def day_events(subject: str, p: Persona, local_day: int) -> DayEvents:
    """The events of one local calendar day (days since 1970-01-01 on the person's clock)."""
    draw = _Draws(rng_for(subject, "events", local_day), p.hypos_per_day)
    midnight = local_day * DAY_MS - local_noon_offset_min(p.timezone, local_day) * MINUTE_MS
    ev = DayEvents()
    for hour, low, high in ((7.3, 25, 60), (12.6, 35, 80), (19.0, 40, 90)):
        _meal(ev, p, draw, midnight + (hour + draw.normal(0.5)) * HOUR_MS, int(draw.uniform(low, high)))
    if draw.uniform() < 0.4:
        ms, grams = midnight + (15.5 + draw.normal(1.0)) * HOUR_MS, int(draw.uniform(10, 25))
        units = _units(p, grams / p.icr)
        ev.bump(ms, grams * p.carb_effect * 0.8, 40)
        ev.insulin.append((int(ms), units))
        ev.carbs.append((int(ms), grams))
        ev.treatments.append((int(ms), "Snack Bolus", {"insulin": units, "carbs": grams}))
    for _ in range(draw.hypos):
        ms, grams = midnight + draw.uniform(0, 24) * HOUR_MS, int(draw.uniform(12, 25))
        ev.bump(ms, -draw.uniform(0.45, 1.0) * p.hypo_depth, 40)
        ev.bump(ms + 45 * MINUTE_MS, grams * 2.5, 30)  # the rescue carbs
        ev.carbs.append((int(ms + 45 * MINUTE_MS), grams))
        ev.treatments.append((int(ms + 45 * MINUTE_MS), "Carb Correction", {"carbs": grams, "insulin": None}))
    if draw.uniform() < p.exercise_p:
        ms, minutes = midnight + (17.5 + draw.normal(1.0)) * HOUR_MS, int(draw.uniform(3, 10)) * 10
        ev.bump(ms, -draw.uniform(25, 65), 45)
        ev.treatments.append((int(ms), "Note", {"notes": f"Exercise: cycling {minutes} min", "carbs": None,
                                                "insulin": None}))
    if draw.uniform() < 0.3:
        ms, units = midnight + (22.5 + draw.normal(0.5)) * HOUR_MS, _units(p, draw.uniform(0.5, 1.8))
        ev.bump(ms, -units * p.isf * 0.6, 100)
        ev.insulin.append((int(ms), units))
        ev.treatments.append((int(ms), "Correction Bolus", {"insulin": units, "carbs": None}))
    return ev


def _meal(ev: DayEvents, p: Persona, draw: _Draws, ms: float, grams: int) -> None:
    """A meal: bolused (a rise, then a dip), or unbolused (a spike, then a late correction)."""
    ev.carbs.append((int(ms), grams))
    if draw.uniform() < p.missed_bolus_p:
        ev.bump(ms, grams * p.carb_effect * p.missed_bolus_rise, 80)
        ev.treatments.append((int(ms), "Carb Correction", {"carbs": grams, "insulin": None}))
        late, units = ms + draw.uniform(100, 160) * MINUTE_MS, _units(p, grams / p.icr * 0.8)
        ev.bump(late, -units * p.isf * 0.7, 95)
        ev.insulin.append((int(late), units))
        ev.treatments.append((int(late), "Correction Bolus", {"insulin": units, "carbs": None}))
        return
    units = _units(p, grams / p.icr)
    ev.bump(ms, grams * p.carb_effect * draw.uniform(0.7, 1.3), draw.uniform(40, 60))
    ev.bump(ms + 70 * MINUTE_MS, -grams * p.carb_effect * p.undershoot, 70)
    ev.insulin.append((int(ms), units))
    ev.treatments.append((int(ms), "Meal Bolus", {"insulin": units, "carbs": grams}))


def _events_around(subject: str, p: Persona, ms: np.ndarray) -> list[DayEvents]:
    """The local days whose events can reach the instants in `ms` (see the module docstring)."""
    first, last = int(ms.min()) // DAY_MS, int(ms.max()) // DAY_MS
    return [day_events(subject, p, day) for day in range(first - 2, last + 2)]


@lru_cache(maxsize=256)
def _bumps(subject: str, p: Persona, first_day: int, last_day: int) -> tuple[np.ndarray, ...]:
    """(start ms, peak mg/dL, minutes to peak) of every bump of local days first-2..last+1."""
    days = [day_events(subject, p, day) for day in range(first_day - 2, last_day + 2)]
    start = np.array([ms for ev in days for ms in ev.bump_ms], dtype=np.int64)
    amp = np.array([a for ev in days for a in ev.bump_amp])
    tp = np.array([t for ev in days for t in ev.bump_tp])
    return start, amp, tp


@lru_cache(maxsize=4096)
def _day_level(subject: str, day: int, sd: float) -> float:
    return sd * unit_normal(subject, "level", day)


@lru_cache(maxsize=64)
def _wander(subject: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-person slow wandering: a few sines with fixed periods and random phases."""
    rng = rng_for(subject, "wander", 0)
    periods_min = np.array([97.0, 173.0, 311.0, 607.0])
    return 2 * np.pi / (periods_min * MINUTE_MS), rng.uniform(0, 2 * np.pi, 4), np.array([5.0, 7.0, 9.0, 6.0])


def glucose(subject: str, p: Persona, ms: np.ndarray) -> np.ndarray:
    """The true glucose (mg/dL, before sensor noise) at each instant of `ms` (int64 epoch ms)."""
    # The day level moves linearly from one UTC noon to the next.
    noon_day = (ms - DAY_MS // 2) // DAY_MS
    frac = ((ms - DAY_MS // 2) % DAY_MS) / DAY_MS
    days = range(int(noon_day.min()), int(noon_day.max()) + 2)
    levels = np.array([_day_level(subject, d, p.day_level_sd) for d in days])
    level = levels[noon_day - days[0]] * (1 - frac) + levels[noon_day - days[0] + 1] * frac
    local_hour = ((ms + utc_offsets_min(p.timezone, ms) * MINUTE_MS) % DAY_MS) / HOUR_MS
    dawn = 18 * np.exp(-(((local_hour - 6.5) / 1.5) ** 2))
    omega, phase, amp = _wander(subject)
    g = p.base_mg_dl + level + dawn + np.sin(np.outer(ms, omega) + phase) @ amp
    start, peak, tp = _bumps(subject, p, int(ms.min()) // DAY_MS, int(ms.max()) // DAY_MS)
    near = (start <= ms.max()) & (start + 10 * tp * MINUTE_MS > ms.min())  # skip bumps out of reach
    x = np.clip((ms[:, None] - start[near]) / (tp[near] * MINUTE_MS), 0.0, 10.0)  # 0 before a bump
    shape = x * np.exp(1.0 - x)
    shape[x >= 10.0] = 0.0  # cut after 10 tp, so far-away days never matter
    g = g + shape @ peak[near]
    # Bodies defend against extremes: compress the far tails instead of a hard clip.
    g = np.where(g < 70, 70 - (70 - g) * 0.6, g)
    g = np.where(g < 50, 50 - (50 - g) * 0.35, g)
    return np.where(g > 300, 300 + (g - 300) * 0.7, g)


def on_board(subject: str, p: Persona, ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(insulin on board in U, carbs on board in g) at each instant, from boluses and carbs."""
    days = _events_around(subject, p, ms)
    insulin = np.array([dose for ev in days for dose in ev.insulin], dtype=np.float64).reshape(-1, 2)
    carbs = np.array([meal for ev in days for meal in ev.carbs], dtype=np.float64).reshape(-1, 2)
    x = (ms[:, None] - insulin[:, 0].astype(np.int64)) / MINUTE_MS  # minutes since each bolus
    iob_terms = np.where((x >= 0) & (x < 360), insulin[:, 1] * np.exp(-np.clip(x, 0, None) / 80), 0.0)
    x = (ms[:, None] - carbs[:, 0].astype(np.int64)) / MINUTE_MS
    cob_terms = np.where(x >= 0, carbs[:, 1] * np.clip(1 - x / 180, 0, 1), 0.0)
    # Summed one event after another, in event order (not np.sum's pairwise order), so the
    # rounded values, and so the documents' text, stay exactly what they have always been.
    iob, cob = np.zeros(len(ms)), np.zeros(len(ms))
    for column in iob_terms.T:
        iob += column
    for column in cob_terms.T:
        cob += column
    return iob, cob


SITE_CHANGE_MS = 72 * HOUR_MS  # a new pump site (and a full reservoir) every 3 days


def site_change_phase_ms(subject: str) -> int:
    """Where in the 3-day cycle this person's site changes fall (a stable per-person offset)."""
    return int(rng_for(subject, "site", 0).integers(0, SITE_CHANGE_MS // MINUTE_MS)) * MINUTE_MS
