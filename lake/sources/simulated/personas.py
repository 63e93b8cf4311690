"""lake.sources.simulated.personas: who the simulated people are and how their days go.

Three demo subjects with different habits and devices:
- demo-ana: well controlled Loop user in Berlin (utcOffset +60/+120, crosses DST), Dexcom G6 via
  xDrip (5 min, occasional calibration records), profile in mmol/L.
- demo-ben: Loop user in New York (-300/-240) with more hypos and missed boluses (LOW 39 and
  HIGH 401 readings), a Share bridge plus Loop uploading the same readings (near-duplicates),
  finger-stick meter entries, profile in mg/dL.
- demo-cleo: pen (MDI) user in Sydney (+600/+660) with a Libre 2 read every minute by xDrip.
Any other subject (benchmarks make many) gets one of the two 5-minute personas by a stable hash.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    """One simulated person's devices, habits and physiology (glucose in mg/dL)."""

    name: str
    timezone: str
    units: str  # profile units: "mmol" or "mg/dl" (sgv is always mg/dL)
    cadence_min: int  # CGM reading interval
    device: str  # the CGM uploader's device string
    duplicate_device: str | None  # a second uploader sending the same readings, or None
    loop: bool  # pump + Loop (temp basals, loop devicestatus); else pens + xDrip uploader status
    base_mg_dl: float  # the usual level between meals
    day_level_sd: float  # day-to-day drift of that level
    carb_effect: float  # peak rise (mg/dL) per gram of a bolused meal
    undershoot: float  # post-meal dip as a fraction of the rise
    missed_bolus_p: float  # chance a meal goes unbolused
    missed_bolus_rise: float  # how much higher an unbolused meal rises than a bolused one
    hypos_per_day: float
    hypo_depth: float  # the deepest a hypo dip goes below the current level, mg/dL
    exercise_p: float  # chance of an afternoon workout
    icr: float  # insulin-to-carb ratio, g/U
    isf: float  # insulin sensitivity, mg/dL per U
    basal_u_h: float
    bolus_step: float  # 0.05 U on a pump, 0.5 U on a pen
    sensor_days: int  # a new sensor (and a warm-up gap) every this many days
    warmup_min: int
    sensor_noise: float  # sd of the sensor's white noise, mg/dL
    gap_p: float  # chance of a day with a signal-loss gap
    error_p: float  # chance of a day with a burst of error codes (< 39)
    duplicate_p: float  # chance of a day where the second uploader runs for a few hours
    mbg_p: float  # chance of a finger-stick meter entry on a day
    cal_p: float  # chance of a calibration record on a day


ANA = Persona(
    name="steady", timezone="Europe/Berlin", units="mmol", cadence_min=5, device="xDrip-DexcomG6",
    duplicate_device=None, loop=True,
    base_mg_dl=112, day_level_sd=8, carb_effect=0.9, undershoot=0.25,
    missed_bolus_p=0.02, missed_bolus_rise=3.0, hypos_per_day=0.15, hypo_depth=80, exercise_p=0.35,
    icr=10, isf=45, basal_u_h=0.8, bolus_step=0.05,
    sensor_days=10, warmup_min=120, sensor_noise=4,
    gap_p=0.25, error_p=0.15, duplicate_p=0.0, mbg_p=0.05, cal_p=0.12,
)
BEN = Persona(
    name="hypo-prone", timezone="America/New_York", units="mg/dl", cadence_min=5, device="share2",
    duplicate_device="loop://iPhone", loop=True,
    base_mg_dl=138, day_level_sd=16, carb_effect=1.6, undershoot=0.55,
    missed_bolus_p=0.12, missed_bolus_rise=2.6, hypos_per_day=0.8, hypo_depth=125, exercise_p=0.25,
    icr=12, isf=55, basal_u_h=0.9, bolus_step=0.05,
    sensor_days=10, warmup_min=120, sensor_noise=6,
    gap_p=0.4, error_p=0.3, duplicate_p=0.35, mbg_p=0.4, cal_p=0.0,
)
CLEO = Persona(
    name="libre", timezone="Australia/Sydney", units="mmol", cadence_min=1, device="xDrip-LibreReceiver",
    duplicate_device=None, loop=False,
    base_mg_dl=125, day_level_sd=12, carb_effect=1.3, undershoot=0.35,
    missed_bolus_p=0.06, missed_bolus_rise=3.0, hypos_per_day=0.35, hypo_depth=100, exercise_p=0.3,
    icr=9, isf=50, basal_u_h=0.0, bolus_step=0.5,
    sensor_days=14, warmup_min=60, sensor_noise=5,
    gap_p=0.3, error_p=0.2, duplicate_p=0.0, mbg_p=0.1, cal_p=0.0,
)

DEMO_PERSONAS = {"demo-ana": ANA, "demo-ben": BEN, "demo-cleo": CLEO}


def persona_for(subject: str) -> Persona:
    """The demo subjects' own personas; any other subject gets a 5-minute one by a stable hash."""
    if subject in DEMO_PERSONAS:
        return DEMO_PERSONAS[subject]
    return (ANA, BEN)[zlib.crc32(subject.encode()) % 2]
