"""lake.metrics.readings: Ibis aggregates over raw readings, by hand and against iglu_python."""

import math
import statistics
from datetime import datetime, timedelta

import ibis
import pandas as pd
import polars as pl
import pytest

from lake.metrics.readings import RISK_SCALE, adrr, reading_metrics

pytestmark = pytest.mark.filterwarnings("ignore::Warning:iglu_python")

# one value on each side of every threshold; 39 and 401 are the sensor's LOW and HIGH
EDGES = [39.0, 54.0, 70.0, 100.0, 180.0, 250.0, 251.0, 401.0]
MIXED = [65.0, 100.0, 100.0, 110.0, 120.0, 130.0, 140.0, 150.0, 190.0, 300.0]
SCHEMA = {"subject_id": pl.String, "local_ts": pl.Datetime("us"), "glucose_mg_dl": pl.Float64}


@pytest.fixture(scope="module")
def con() -> ibis.BaseBackend:
    return ibis.duckdb.connect()


def _metrics(con: ibis.BaseBackend, frame: pl.DataFrame) -> dict[str, dict[str, float]]:
    t = ibis.memtable(frame)
    result = con.to_polars(t.group_by("subject_id").aggregate(**reading_metrics(t)))
    return {row.pop("subject_id"): row for row in result.iter_rows(named=True)}


def _frame(groups: dict[str, list[float | None]]) -> pl.DataFrame:
    """Readings 5 minutes apart per group, from 2024-01-01 00:00."""
    start = datetime(2024, 1, 1)
    rows = [(sid, start + timedelta(minutes=5 * i), g) for sid, gs in groups.items() for i, g in enumerate(gs)]
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def _risk(g: float) -> float:
    return math.log(g) ** 1.084 - 5.381


def test_reading_metrics_produce_exactly_the_documented_columns(con):
    assert list(_metrics(con, _frame({"a": EDGES}))["a"]) == [
        "n_readings", "mean_mg_dl", "median_mg_dl", "sd_mg_dl", "cv_pct", "gmi_pct", "ea1c_pct",
        "pct_below_54", "pct_below_70", "pct_70_180", "pct_above_180", "pct_above_250",
        "min_mg_dl", "max_mg_dl", "lbgi", "hbgi", "j_index", "gri",
    ]  # fmt: skip


def test_thresholds_are_strict_below_and_above_and_inclusive_in_range(con):
    m = _metrics(con, _frame({"a": EDGES}))["a"]
    assert m["pct_below_54"] == 12.5  # 39; 54 is not below 54
    assert m["pct_below_70"] == 25.0  # 39 and 54: cumulative, includes below 54
    assert m["pct_70_180"] == 37.5  # 70, 100 and 180 are in range
    assert m["pct_above_180"] == 37.5  # 250, 251, 401: cumulative
    assert m["pct_above_250"] == 25.0  # 251 and 401; 250 is not above 250
    assert m["pct_below_70"] + m["pct_70_180"] + m["pct_above_180"] == 100.0


def test_summary_statistics_match_their_definitions(con):
    m = _metrics(con, _frame({"a": EDGES}))["a"]
    mean, sd = 1345 / 8, statistics.stdev(EDGES)
    assert m["n_readings"] == 8
    assert m["mean_mg_dl"] == pytest.approx(mean, rel=1e-12)
    assert m["sd_mg_dl"] == pytest.approx(sd, rel=1e-12)  # sample SD, n - 1
    assert m["cv_pct"] == pytest.approx(100 * sd / mean, rel=1e-12)
    assert m["gmi_pct"] == pytest.approx(3.31 + 0.02392 * mean, rel=1e-12)
    assert m["ea1c_pct"] == pytest.approx((46.7 + mean) / 28.7, rel=1e-12)
    assert m["j_index"] == pytest.approx(0.001 * (mean + sd) ** 2, rel=1e-12)
    assert (m["min_mg_dl"], m["max_mg_dl"]) == (39.0, 401.0)


def test_median_of_an_even_count_is_the_mean_of_the_two_middle_values(con):
    metrics = _metrics(con, _frame({"a": EDGES, "b": MIXED, "c": [1.0, 2.0, 10.0]}))
    assert metrics["a"]["median_mg_dl"] == 140.0  # (100 + 180) / 2
    assert metrics["b"]["median_mg_dl"] == 125.0  # (120 + 130) / 2
    assert metrics["c"]["median_mg_dl"] == 2.0


def test_lbgi_and_hbgi_use_r_iglus_constant_22_77(con):
    m = _metrics(con, _frame({"a": EDGES + [112.5]}))["a"]
    values = EDGES + [112.5]
    lbgi = 22.77 * sum(min(_risk(g), 0) ** 2 for g in values if g < 112.5) / len(values)
    hbgi = 22.77 * sum(max(_risk(g), 0) ** 2 for g in values if g >= 112.5) / len(values)
    assert RISK_SCALE == 22.77
    assert m["lbgi"] == pytest.approx(lbgi, rel=1e-12)
    assert m["hbgi"] == pytest.approx(hbgi, rel=1e-12)


def test_gri_weighs_the_four_bands_and_is_capped_at_100(con):
    metrics = _metrics(con, _frame({"a": EDGES, "b": MIXED}))
    # b: 10% below 70 (none below 54), 10% in (180, 250], 10% above 250
    assert metrics["b"]["gri"] == pytest.approx(2.4 * 10 + 0.8 * 10 + 1.6 * 10, rel=1e-12)
    # a: 3.0*12.5 + 2.4*12.5 + 1.6*25 + 0.8*12.5 = 117.5
    assert metrics["a"]["gri"] == 100.0


def test_null_glucose_is_ignored_and_a_group_without_values_gives_nulls(con):
    metrics = _metrics(con, _frame({"a": EDGES + [None], "empty": [None, None]}))
    assert metrics["a"]["n_readings"] == 8
    assert metrics["a"]["pct_below_54"] == 12.5
    assert metrics["empty"]["n_readings"] == 0
    assert metrics["empty"]["gri"] is None
    assert metrics["empty"]["mean_mg_dl"] is None


def test_adrr_is_the_mean_over_local_calendar_days_of_low_plus_high_risk(con):
    frame = pl.DataFrame(
        {
            "subject_id": ["a"] * 5,
            "local_ts": [
                datetime(2024, 1, 1, 8),
                datetime(2024, 1, 1, 23, 59),
                datetime(2024, 1, 2, 0, 1),  # a new calendar day one minute later
                datetime(2024, 1, 2, 12),
                datetime(2024, 1, 2, 13),
            ],
            "glucose_mg_dl": [50.0, 200.0, 100.0, 300.0, None],
        }
    )
    day1 = 22.77 * _risk(50) ** 2 + 22.77 * _risk(200) ** 2
    day2 = 22.77 * _risk(100) ** 2 + 22.77 * _risk(300) ** 2  # f(100) < 0 is the day's low risk
    result = con.to_polars(adrr(ibis.memtable(frame), ["subject_id"]))
    assert result["adrr"].to_list() == pytest.approx([(day1 + day2) / 2], rel=1e-12)
    # without keys: one value over all readings
    assert con.to_polars(adrr(ibis.memtable(frame), []))["adrr"].to_list() == result["adrr"].to_list()


# (iglu_python function, its arguments, its column, our column)
IGLU_EQUIVALENTS = [
    ("mean_glu", {}, "mean", "mean_mg_dl"),
    ("median_glu", {}, "median", "median_mg_dl"),
    ("sd_glu", {}, "SD", "sd_mg_dl"),
    ("cv_glu", {}, "CV", "cv_pct"),
    ("gmi", {}, "GMI", "gmi_pct"),
    ("ea1c", {}, "eA1C", "ea1c_pct"),
    ("below_percent", {"targets_below": [54, 70]}, "below_54", "pct_below_54"),
    ("below_percent", {"targets_below": [54, 70]}, "below_70", "pct_below_70"),
    ("in_range_percent", {"target_ranges": [[70, 180]]}, "in_range_70_180", "pct_70_180"),
    ("above_percent", {"targets_above": [180, 250]}, "above_180", "pct_above_180"),
    ("above_percent", {"targets_above": [180, 250]}, "above_250", "pct_above_250"),
    ("quantile_glu", {"quantiles": [0, 100]}, "0", "min_mg_dl"),
    ("quantile_glu", {"quantiles": [0, 100]}, "100", "max_mg_dl"),
    ("j_index", {}, "J_index", "j_index"),
    ("gri", {}, "GRI", "gri"),
]


@pytest.mark.parametrize(("function", "kwargs", "iglu_column", "column"), IGLU_EQUIVALENTS)
def test_reading_metric_agrees_with_iglu_python(
    con, synthetic, synthetic_iglu, iglu, function, kwargs, iglu_column, column
):
    theirs = getattr(iglu, function)(synthetic_iglu.copy(), **kwargs).set_index("id")[iglu_column]
    ours = _metrics(con, synthetic)
    assert sorted(ours) == sorted(theirs.index)
    for sid, value in theirs.items():
        assert ours[sid][column] == pytest.approx(value, rel=1e-6), sid


def test_adrr_agrees_with_iglu_python(con, synthetic, synthetic_iglu, iglu):
    theirs = iglu.adrr(synthetic_iglu.copy()).set_index("id")["ADRR"]
    ours = con.to_polars(adrr(ibis.memtable(synthetic), ["subject_id"]))
    for sid, value in ours.iter_rows():
        assert value == pytest.approx(theirs[sid], rel=1e-6), sid


@pytest.mark.parametrize(
    ("function", "iglu_column", "column"), [("lbgi", "LBGI", "lbgi"), ("hbgi", "HBGI", "hbgi")]
)
def test_risk_indices_are_iglu_pythons_scaled_from_22_7708_to_r_iglus_22_77(
    con, synthetic, synthetic_iglu, iglu, function, iglu_column, column
):
    # iglu_python computes 10 * (1.509 * f)^2 = 22.77081 * f^2; R iglu writes 22.77 * f^2
    theirs = getattr(iglu, function)(synthetic_iglu.copy()).set_index("id")[iglu_column]
    ours = _metrics(con, synthetic)
    for sid, value in theirs.items():
        assert value > 0
        assert ours[sid][column] == pytest.approx(value * 22.77 / (10 * 1.509**2), rel=1e-12), sid
        assert ours[sid][column] != pytest.approx(value, rel=1e-5)


def test_iglu_python_input_is_the_same_readings(synthetic, synthetic_iglu):
    # guards the cross-checks above: same rows, same naive wall-clock times
    assert len(synthetic_iglu) == synthetic.height
    assert synthetic_iglu["time"].dtype.kind == "M" and synthetic_iglu["time"].dt.tz is None
    assert (synthetic_iglu["time"] == pd.Series(synthetic["local_ts"].to_list())).all()
