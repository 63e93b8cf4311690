"""lake.metrics.subject: all grid metrics per subject from a Polars frame of readings."""

from datetime import datetime, timedelta

import polars as pl
import pytest

from lake.metrics.active import active_percent, period_active_percent
from lake.metrics.episodes import episode_counts, find_episodes
from lake.metrics.grid import day_by_day
from lake.metrics.mage import mage
from lake.metrics.subject import (
    agp_by_subject,
    episodes_by_subject,
    grid_metrics_by_subject,
    series_by_subject,
    subject_grid_metrics,
)
from lake.metrics.variability import conga, modd

SCHEMA = {"subject_id": pl.String, "local_ts": pl.Datetime("us"), "glucose_mg_dl": pl.Float64}


def readings(subject_id: str, every_minutes: int, values: list[float | None]) -> pl.DataFrame:
    start = datetime(2024, 1, 1, 6)
    rows = [(subject_id, start + timedelta(minutes=every_minutes * i), g) for i, g in enumerate(values)]
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def test_subject_grid_metrics_equal_the_individual_metrics(synthetic_by_subject):
    part = synthetic_by_subject["subject-0"]
    times, glucose = part["local_ts"].to_numpy(), part["glucose_mg_dl"].to_numpy()
    grid = day_by_day(times, glucose)
    expected = {
        "active_pct": active_percent(times),
        "period_active_pct": None,  # only with the period's length
        "mage": mage(times, glucose),
        "modd": modd(grid),
        "conga_24h": conga(grid, hours=24),
        **episode_counts(find_episodes(grid)),
    }
    assert subject_grid_metrics(part) == expected
    assert subject_grid_metrics(part, period_days=7) == {
        **expected, "period_active_pct": period_active_percent(times, 7)}


@pytest.mark.parametrize("every_minutes", [1, 5, 15])
def test_mage_is_the_same_whether_or_not_the_subjects_grid_can_be_reused(every_minutes):
    # MAGE always runs on a 5-minute grid; only a subject whose own grid step is 5 reuses it.
    values = [110 + 60 * ((i * every_minutes // 7) % 9 - 4) / 4 + (i % 3) for i in range(2 * 1440 // every_minutes)]
    part = readings("s", every_minutes, [float(v) for v in values])
    times, glucose = part["local_ts"].to_numpy(), part["glucose_mg_dl"].to_numpy()
    assert day_by_day(times, glucose).dt0 == every_minutes
    assert subject_grid_metrics(part)["mage"] == mage(times, glucose) > 0


@pytest.mark.parametrize("build", [grid_metrics_by_subject, episodes_by_subject, agp_by_subject])
def test_the_series_of_the_readings_give_what_the_readings_give(build, synthetic):
    assert build(series_by_subject(synthetic)).equals(build(synthetic))


@pytest.mark.parametrize("build", [grid_metrics_by_subject, episodes_by_subject, agp_by_subject])
def test_the_readings_need_not_be_sorted(build, synthetic):
    shuffled = synthetic.sample(fraction=1.0, shuffle=True, seed=7)
    first_seen = shuffled["subject_id"].unique(maintain_order=True).to_list()
    in_that_order = pl.concat([synthetic.filter(pl.col("subject_id") == s) for s in first_seen])
    assert not shuffled.equals(in_that_order)
    assert build(shuffled).equals(build(in_that_order))


def test_grid_metrics_by_subject_gives_one_typed_row_per_subject(synthetic):
    table = grid_metrics_by_subject(synthetic, period_days=5)
    assert table["subject_id"].to_list() == ["subject-0", "subject-1", "subject-2"]
    assert table.schema == {
        "subject_id": pl.String, "active_pct": pl.Float64, "period_active_pct": pl.Float64,
        "mage": pl.Float64, "modd": pl.Float64,
        "conga_24h": pl.Float64, "hypo_l1_episodes": pl.Int64, "hypo_l2_episodes": pl.Int64,
        "hyper_l1_episodes": pl.Int64, "hyper_l2_episodes": pl.Int64, "extended_hypo_episodes": pl.Int64,
    }  # fmt: skip
    assert table.null_count().row(0) == (0,) * table.width


def test_subjects_without_a_usable_grid_get_null_grid_metrics_instead_of_an_error():
    sparse = pl.concat(
        [
            readings("one-reading", 5, [120.0, None]),
            readings("hourly", 60, [100.0, 150.0, 200.0, 150.0]),  # median gap 60 > 45 minutes
        ]
    )
    table = grid_metrics_by_subject(sparse)
    one, hourly = table.rows(named=True)
    assert one == {"subject_id": "one-reading", **dict.fromkeys(list(one)[1:])}
    assert hourly["active_pct"] == 100.0
    assert hourly["modd"] is None and hourly["hypo_l1_episodes"] is None
    assert episodes_by_subject(sparse).height == 0
    assert agp_by_subject(sparse).height == 0


def test_episodes_by_subject_prefixes_each_subjects_episodes_with_its_id(synthetic, synthetic_by_subject):
    table = episodes_by_subject(synthetic)
    assert table.columns == [
        "subject_id", "kind", "level", "start_local_ts", "end_local_ts", "duration_min", "mean_mg_dl",
        "start_offset_min", "end_offset_min",
    ]  # fmt: skip
    for sid, part in synthetic_by_subject.items():
        grid = day_by_day(part["local_ts"].to_numpy(), part["glucose_mg_dl"].to_numpy())
        found = table.filter(subject_id=sid).drop("subject_id", "start_offset_min", "end_offset_min")
        assert found.equals(find_episodes(grid))


def test_agp_by_subject_gives_each_subject_a_full_day_of_columns(synthetic):
    table = agp_by_subject(synthetic)
    assert table.columns == ["subject_id", "minute_of_day", "p05", "p25", "p50", "p75", "p95", "n_days"]
    assert table.group_by("subject_id").len().sort("subject_id")["len"].to_list() == [288, 288, 288]


@pytest.mark.parametrize("build", [grid_metrics_by_subject, episodes_by_subject, agp_by_subject])
def test_no_readings_give_an_empty_typed_table(build):
    table = build(pl.DataFrame(schema=SCHEMA))
    assert table.height == 0 and table.schema["subject_id"] == pl.String
