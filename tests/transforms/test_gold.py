"""gold: glucose_summary end to end (Ibis reading metrics + grid metrics) against iglu-python, and
the daily tables on hand-written readings."""

from __future__ import annotations

from datetime import date

import ibis
import polars as pl
import pyarrow as pa
import pytest

from lake.metrics.active import active_percent
from lake.metrics.subject import grid_metrics_by_subject
from lake.transforms.gold.daily_glucose import daily_glucose
from lake.transforms.gold.daily_treatments import daily_treatments
from lake.transforms.gold.glucose_summary import COLUMNS, glucose_summary
from tests.metrics.conftest import make_readings, to_iglu

R_RISK_SCALE = 22.77 / (10 * 1.509**2)  # iglu_python's LBGI/HBGI constant -> R iglu's (cgm-metrics §9)

# our column -> (iglu_python function, kwargs, its column, factor from iglu_python to R iglu)
IGLU = {
    "n_readings": None,
    "mean_mg_dl": ("mean_glu", {}, "mean", 1), "median_mg_dl": ("median_glu", {}, "median", 1),
    "sd_mg_dl": ("sd_glu", {}, "SD", 1), "cv_pct": ("cv_glu", {}, "CV", 1), "gmi_pct": ("gmi", {}, "GMI", 1),
    "ea1c_pct": ("ea1c", {}, "eA1C", 1),
    "pct_below_54": ("below_percent", {"targets_below": [54, 70]}, "below_54", 1),
    "pct_below_70": ("below_percent", {"targets_below": [54, 70]}, "below_70", 1),
    "pct_70_180": ("in_range_percent", {"target_ranges": [[70, 180]]}, "in_range_70_180", 1),
    "pct_above_180": ("above_percent", {"targets_above": [180, 250]}, "above_180", 1),
    "pct_above_250": ("above_percent", {"targets_above": [180, 250]}, "above_250", 1),
    "min_mg_dl": ("quantile_glu", {"quantiles": [0, 100]}, "0", 1),
    "max_mg_dl": ("quantile_glu", {"quantiles": [0, 100]}, "100", 1),
    "lbgi": ("lbgi", {}, "LBGI", R_RISK_SCALE), "hbgi": ("hbgi", {}, "HBGI", R_RISK_SCALE),
    "adrr": ("adrr", {}, "ADRR", 1), "gri": ("gri", {}, "GRI", 1), "j_index": ("j_index", {}, "J_index", 1),
    "mage": ("mage", {}, "MAGE", 1), "modd": ("modd", {}, "MODD", 1), "conga_24h": ("conga", {}, "CONGA", 1),
    # the period's coverage: iglu's manual range over the summary's period, March 2024 (31 days)
    "period_active_pct": ("active_percent",
                          {"range_type": "manual", "ndays": 31, "consistent_end_date": "2024-04-01 00:00:00"},
                          "active_percent", 1),
}
EPISODES = {"hypo_l1_episodes": ("hypo", "lv1"), "hypo_l2_episodes": ("hypo", "lv2"),
            "hyper_l1_episodes": ("hyper", "lv1"), "hyper_l2_episodes": ("hyper", "lv2"),
            "extended_hypo_episodes": ("hypo", "extended")}


# (seed, days) of generated data: (1, 5) and (99, 14) each have a trace where MAGE's moving windows
# coincide just after a gap, where iglu_python's pandas rolling means differ from R's (see the
# iglu_r_means fixture): MAGE is compared with R's means, as every other metric is unaffected.
DATA_SETS = [(7, 5), (1, 5), (99, 14)]


@pytest.fixture(scope="module", params=DATA_SETS, ids=[f"seed{s}-{d}days" for s, d in DATA_SETS])
def summary(duck, request):
    seed, n_days = request.param
    readings = make_readings(seed=seed, n_days=n_days)
    silver = readings.with_columns(local_day=pl.col("local_ts").dt.date(), utc_offset_min=pl.lit(0))
    grid = grid_metrics_by_subject(readings, period_days=31)
    expr = glucose_summary(ibis.memtable(silver.to_arrow()), ibis.memtable(grid.to_arrow()),
                           date(2024, 3, 1), date(2024, 3, 31))
    out = duck.to_pyarrow(expr).to_pylist()
    return readings, {row["subject_id"]: row for row in out}


def test_glucose_summary_has_the_contract_columns_one_row_per_subject(summary):
    readings, rows = summary
    assert sorted(rows) == sorted(readings["subject_id"].unique().to_list())
    assert all(list(row) == COLUMNS for row in rows.values())


@pytest.mark.parametrize("column", [c for c, spec in IGLU.items() if spec])
def test_glucose_summary_metric_equals_iglu(summary, iglu_r_means, column):
    readings, rows = summary
    function, kwargs, iglu_column, factor = IGLU[column]
    theirs = getattr(iglu_r_means, function)(to_iglu(readings), **kwargs).set_index("id")[iglu_column]
    for sid, value in theirs.items():
        assert rows[sid][column] == pytest.approx(value * factor, rel=1e-6), (sid, column)


def test_glucose_summary_episode_counts_equal_iglu(summary, iglu):
    readings, rows = summary
    theirs = iglu.episode_calculation(to_iglu(readings))
    for column, (kind, level) in EPISODES.items():
        for sid, row in rows.items():
            expected = theirs[(theirs["id"] == sid) & (theirs["type"] == kind) & (theirs["level"] == level)]
            assert row[column] == expected["total_episodes"].iloc[0], (sid, column)


def test_glucose_summary_active_pct_is_r_iglus_automatic_range(summary):
    # iglu_python differs from R here (diff > dt0 instead of round(diff) > dt0): lake.metrics tests
    # that relationship; the summary must carry R's value, lake.metrics.active.active_percent.
    readings, rows = summary
    for sid, part in readings.partition_by("subject_id", as_dict=True).items():
        assert rows[sid[0]]["active_pct"] == pytest.approx(active_percent(part["local_ts"].to_numpy()), rel=1e-12)


def test_glucose_summary_days_with_readings_are_the_local_days_with_data(summary):
    readings, rows = summary
    days = readings.group_by("subject_id").agg(pl.col("local_ts").dt.date().n_unique().alias("days"))
    for sid, n_days in days.iter_rows():
        assert rows[sid]["days_with_readings"] == n_days
        assert rows[sid]["sufficient_data"] is False  # at most 15 days of data in a 31-day period


def every_five_minutes(subject: str, first: date, n_days: int) -> pl.DataFrame:
    from datetime import datetime, timedelta

    start = datetime(first.year, first.month, first.day)
    times = [start + timedelta(minutes=5 * i) for i in range(n_days * 288)]
    return pl.DataFrame({"subject_id": subject, "local_ts": times,
                         "glucose_mg_dl": [100.0 + i % 50 for i in range(len(times))]})


@pytest.mark.parametrize(("period_days", "data_days", "sufficient"),
                         [(14, 14, True), (14, 10, True), (14, 9, False), (13, 13, False), (28, 20, True)])
def test_glucose_summary_says_whether_the_data_meet_the_consensus_minimum(duck, period_days, data_days,
                                                                          sufficient):
    # 14 days or more, with the CGM active at least 70% of the period (10/14 = 71%, 9/14 = 64%).
    from datetime import timedelta

    first = date(2024, 3, 1)
    readings = every_five_minutes("a", first + timedelta(period_days - data_days), data_days)
    silver = readings.with_columns(local_day=pl.col("local_ts").dt.date())
    grid = grid_metrics_by_subject(readings, period_days=period_days)
    (row,) = duck.to_pyarrow(glucose_summary(ibis.memtable(silver.to_arrow()), ibis.memtable(grid.to_arrow()),
                                             first, first + timedelta(period_days - 1))).to_pylist()
    assert row["days_with_readings"] == data_days
    assert row["period_active_pct"] == pytest.approx(100 * data_days / period_days)
    assert row["active_pct"] == 100.0  # first to last reading: nothing missing, whatever the period
    assert row["sufficient_data"] is sufficient


def test_daily_glucose_aggregates_each_local_day(duck):
    silver = pa.table({"subject_id": ["a"] * 4, "local_day": [date(2024, 3, 1)] * 3 + [date(2024, 3, 2)],
                       "local_ts": pa.array([0, 300, 600, 86_400], pa.timestamp("s")),
                       "glucose_mg_dl": [50.0, 100.0, 200.0, 120.0]})
    active = pa.table({"subject_id": ["a", "a"], "day": [date(2024, 3, 1), date(2024, 3, 2)],
                       "active_pct": [100.0, 100.0], "period_active_pct": [1.0, 0.35]})
    out = {r["day"]: r for r in duck.to_pyarrow(daily_glucose(ibis.memtable(silver), ibis.memtable(active))).to_pylist()}
    first = out[date(2024, 3, 1)]
    assert (first["n_readings"], first["mean_mg_dl"], first["min_mg_dl"], first["max_mg_dl"]) == (3, 350 / 3, 50, 200)
    assert (first["pct_below_54"], first["pct_70_180"], first["pct_above_180"]) == pytest.approx((100 / 3,) * 3)
    assert out[date(2024, 3, 2)]["n_readings"] == 1
    assert [out[d]["period_active_pct"] for d in sorted(out)] == [1.0, 0.35]  # passed through per day


def test_daily_treatments_sum_boluses_and_carbs_per_day_including_days_with_only_one_kind(duck):
    boluses = pa.table({"subject_id": ["a", "a", "a"], "local_day": [date(2024, 3, 1)] * 2 + [date(2024, 3, 2)],
                        "insulin_units": [4.5, 1.0, 2.0]})
    carbs = pa.table({"subject_id": ["a", "a"], "local_day": [date(2024, 3, 1), date(2024, 3, 3)],
                      "carbs_g": [45.0, 20.0]})
    out = duck.to_pyarrow(daily_treatments(ibis.memtable(boluses), ibis.memtable(carbs)).order_by("day")).to_pylist()
    assert [(r["day"], r["bolus_units"], r["carbs_g"], r["n_boluses"], r["n_carb_entries"]) for r in out] == [
        (date(2024, 3, 1), 5.5, 45.0, 2, 1), (date(2024, 3, 2), 2.0, 0.0, 1, 0), (date(2024, 3, 3), 0.0, 20.0, 0, 1)]


def test_episode_times_are_converted_to_utc_with_the_offset_at_each_end(duck):
    from datetime import datetime

    from lake.transforms.gold.glucose_episodes import glucose_episodes

    # Berlin: the hypo starts at 01:30 (UTC+1) and ends at 03:00, after the change to UTC+2.
    episodes = pa.table({"subject_id": ["a", "a"], "kind": ["hypo", "hyper"], "level": ["l1", "l1"],
                         "start_local_ts": [datetime(2024, 3, 31, 1, 30), datetime(2024, 3, 31, 20, 5)],
                         "end_local_ts": [datetime(2024, 3, 31, 3, 0), datetime(2024, 3, 31, 21, 0)],
                         "duration_min": [35.0, 60.0], "mean_mg_dl": [60.0, 200.0],
                         "start_offset_min": pa.array([60, 120], pa.int32()),
                         "end_offset_min": pa.array([120, 120], pa.int32())})
    out = duck.to_pyarrow(glucose_episodes(ibis.memtable(episodes), date(2024, 3, 31), date(2024, 3, 31))
                          .order_by("start_ts")).to_pylist()
    assert [(r["kind"], r["start_ts"], r["end_ts"]) for r in out] == [
        ("hypo", datetime(2024, 3, 31, 0, 30), datetime(2024, 3, 31, 1, 0)),
        ("hyper", datetime(2024, 3, 31, 18, 5), datetime(2024, 3, 31, 19, 0))]
