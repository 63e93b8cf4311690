"""lake.metrics.episodes: iglu's episode rules, by hand and against iglu_python."""

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from lake.metrics.episodes import episode_counts, find_episodes
from lake.metrics.episodes import episode_bounds as bound_arrays
from lake.metrics.grid import day_by_day

pytestmark = pytest.mark.filterwarnings("ignore::Warning:iglu_python")

LOW, OK = 60.0, 100.0  # below 70 / in range


def episode_bounds(*args, **kwargs) -> list[tuple[int, int]]:
    """(first, last) of each episode, as pairs: easier to read in assertions than two arrays."""
    firsts, lasts = bound_arrays(*args, **kwargs)
    return list(zip(firsts.tolist(), lasts.tolist(), strict=True))


def hypo_l1(values: list[float]) -> list[tuple[int, int]]:
    """Level 1 hypo episodes of one gap-free 5-minute segment: 3 points start, 3 points end."""
    return episode_bounds(np.array(values) < 70, min_points=3, end_points=3)


def at(hour: int, minute: int) -> datetime:
    return datetime(2024, 1, 1, hour, minute)


def grid_of(*values: float, start: str = "2024-01-01T06:00"):
    """Grid of 5-minute readings lying on grid points, so grid values are the readings."""
    times = np.datetime64(start, "ns") + np.arange(len(values)) * np.timedelta64(5, "m")
    return day_by_day(times, np.array(values), dt0=5)


def test_an_episode_starts_after_15_minutes_in_condition():
    assert hypo_l1([OK, LOW, LOW, OK, OK, OK]) == []  # 10 minutes: not an episode
    assert hypo_l1([OK, LOW, LOW, LOW, OK, OK, OK]) == [(1, 3)]


def test_missing_points_split_the_grid_into_segments_each_ending_its_episodes():
    # an episode open when its segment ends stops at the segment's last point; a run in
    # condition on the other side of the gap is a new episode, even though it is not 15 min
    # after the first ended
    in_condition = np.array([True] * 4 + [False] + [True] * 3 + [False, True, True])
    present = np.array([True] * 4 + [False] + [True] * 3 + [True, True, True])
    assert episode_bounds(in_condition, min_points=3, end_points=3, present=present) == [(0, 3), (5, 10)]
    present[8] = False
    assert episode_bounds(in_condition, min_points=3, end_points=3, present=present) == [(0, 3), (5, 7)]


def test_an_episode_ends_before_15_minutes_out_of_condition():
    assert hypo_l1([LOW] * 4 + [OK] * 3 + [LOW] * 3) == [(0, 3), (7, 9)]


def test_a_short_excursion_out_of_condition_stays_inside_the_episode():
    # 10 minutes back in range do not end it: the next run below 70 is the same episode
    assert hypo_l1([LOW] * 4 + [OK] * 2 + [LOW] * 4 + [OK] * 3) == [(0, 9)]
    # a single point back below 70, too short to start an episode, is still inside this one
    assert hypo_l1([LOW] * 3 + [OK, LOW] + [OK] * 3) == [(0, 4)]


def test_the_end_of_the_data_ends_an_open_episode():
    assert hypo_l1([OK, LOW, LOW, LOW, LOW, OK]) == [(1, 5)]  # 1 point back in range is inside


def low_around_a_gap(gap_minutes: int) -> pl.DataFrame:
    """20 minutes below 70 from 06:00, a gap, 20 minutes below 70: the level 1 hypo episodes."""
    first = np.datetime64("2024-01-01T06:00", "ns") + np.arange(4) * np.timedelta64(5, "m")
    times = np.concatenate((first, first + np.timedelta64(15 + gap_minutes, "m")))
    return find_episodes(day_by_day(times, np.full(8, LOW), dt0=5)).filter(level="l1")


def test_a_data_gap_ends_an_episode():
    episodes = low_around_a_gap(120)  # not interpolated: the grid has no data in between
    assert episodes["start_local_ts"].to_list() == [at(6, 0), at(8, 15)]
    assert episodes["end_local_ts"].to_list() == [at(6, 15), at(8, 30)]
    bridged = low_around_a_gap(40)  # interpolated across: one episode
    assert bridged.select("start_local_ts", "end_local_ts").rows() == [(at(6, 0), at(7, 10))]


def test_level_2_is_found_on_its_own_threshold_and_lies_within_level_1():
    grid = grid_of(OK, 65, 60, 50, 50, 50, 60, 65, 80, 80, 80, OK)
    episodes = find_episodes(grid).filter(kind="hypo")
    l1 = episodes.filter(level="l1").row(0, named=True)
    l2 = episodes.filter(level="l2").row(0, named=True)
    assert (l1["start_local_ts"], l1["end_local_ts"]) == (at(6, 5), at(6, 35))
    assert (l2["start_local_ts"], l2["end_local_ts"]) == (at(6, 15), at(6, 25))
    assert l2["mean_mg_dl"] == 50.0 and l2["duration_min"] == 15.0


def test_extended_hypoglycaemia_needs_more_than_120_minutes_below_70():
    two_hours = find_episodes(grid_of(OK, *[LOW] * 24, OK, OK, OK))  # 24 points = 120 minutes
    longer = find_episodes(grid_of(OK, *[LOW] * 25, OK, OK, OK))  # 25 points = 125 minutes
    assert two_hours.filter(level="extended").height == 0
    assert two_hours.filter(kind="hypo", level="l1")["duration_min"].to_list() == [120.0]
    assert longer.filter(level="extended")["duration_min"].to_list() == [125.0]


def test_hyper_thresholds_are_strict():
    assert find_episodes(grid_of(OK, 180, 180, 180, OK, OK, OK)).filter(kind="hyper").height == 0
    hyper = find_episodes(grid_of(OK, 181, 251, 251, 251, 181, OK, OK, OK)).filter(kind="hyper")
    rows = hyper.select("level", "duration_min", "mean_mg_dl").rows()
    assert rows == [("l1", 25.0, 223.0), ("l2", 15.0, 251.0)]


def test_episode_rows_have_start_end_duration_and_mean_of_grid_points():
    episodes = find_episodes(grid_of(OK, 66, 62, 58, 62, OK, OK, OK))
    assert episodes.columns == [
        "kind", "level", "start_local_ts", "end_local_ts", "duration_min", "mean_mg_dl"
    ]  # fmt: skip
    row = episodes.filter(level="l1").row(0, named=True)
    assert row["start_local_ts"] == at(6, 5)
    assert row["end_local_ts"] == at(6, 20)
    assert row["duration_min"] == 20.0  # 4 points of 5 minutes: end - start + 5
    assert row["mean_mg_dl"] == 62.0


def test_episode_counts_cover_every_level_with_zeros():
    counts = episode_counts(find_episodes(grid_of(OK, 60, 50, 50, 50, OK, OK, OK)))
    assert counts == {
        "hypo_l1_episodes": 1, "hypo_l2_episodes": 1, "hyper_l1_episodes": 0,
        "hyper_l2_episodes": 0, "extended_hypo_episodes": 0,
    }  # fmt: skip


IGLU_LEVELS = {"lv1_hypo": ("hypo", "l1"), "lv2_hypo": ("hypo", "l2"), "ext_hypo": ("hypo", "extended"),
               "lv1_hyper": ("hyper", "l1"), "lv2_hyper": ("hyper", "l2")}  # fmt: skip


def _iglu_episodes(labelled: pl.DataFrame) -> set[tuple]:
    """(kind, level, start, end) from iglu's per-grid-point episode labels."""
    found = set()
    for column, (kind, level) in IGLU_LEVELS.items():
        spans = labelled.filter(pl.col(column) > 0).group_by("segment", column).agg(
            pl.col("time").min().alias("start"), pl.col("time").max().alias("end")
        )
        found |= {(kind, level, start, end) for start, end in spans.select("start", "end").iter_rows()}
    return found


def test_episodes_agree_with_iglu_pythons_labelled_grid(synthetic_by_subject, synthetic_iglu, iglu):
    kinds_seen = set()
    for sid, part in synthetic_by_subject.items():
        _, labelled = iglu.episode_calculation(synthetic_iglu[synthetic_iglu["id"] == sid], return_data=True)
        theirs = _iglu_episodes(
            pl.from_pandas(labelled).with_columns(pl.col("time").dt.replace_time_zone(None))
        )
        grid = day_by_day(part["local_ts"].to_numpy(), part["glucose_mg_dl"].to_numpy())
        ours = set(find_episodes(grid).select("kind", "level", "start_local_ts", "end_local_ts").iter_rows())
        assert ours == theirs, sid
        kinds_seen |= {(kind, level) for kind, level, _, _ in ours}
    assert kinds_seen == set(IGLU_LEVELS.values())  # the data exercise every kind of episode


def test_episode_summaries_agree_with_iglu_python(synthetic_by_subject, synthetic_iglu, iglu):
    theirs = pl.from_pandas(iglu.episode_calculation(synthetic_iglu.copy()))
    levels = {"lv1": "l1", "lv2": "l2", "extended": "extended"}
    for sid, part in synthetic_by_subject.items():
        grid = day_by_day(part["local_ts"].to_numpy(), part["glucose_mg_dl"].to_numpy())
        episodes = find_episodes(grid)
        wear_days = np.count_nonzero(~np.isnan(grid.flat)) * grid.dt0 / 1440
        for row in theirs.filter(id=sid, level=pl.col("level").is_in(list(levels))).iter_rows(named=True):
            mine = episodes.filter(kind=row["type"], level=levels[row["level"]])
            assert mine.height == row["total_episodes"], (sid, row)
            assert mine.height / wear_days == pytest.approx(row["avg_ep_per_day"], rel=1e-9)
            if mine.height:
                assert mine["duration_min"].mean() == pytest.approx(row["avg_ep_duration"], rel=1e-9)
                assert mine["mean_mg_dl"].mean() == pytest.approx(row["avg_ep_gl"], rel=1e-9)


def test_each_episode_has_the_mean_of_its_own_grid_points():
    grid = grid_of(OK, 60, 62, 64, OK, OK, OK, 50, 52, 54, OK, OK, OK, 40, 44, 48, 66)
    rows = find_episodes(grid).filter(kind="hypo").select("level", "start_local_ts", "mean_mg_dl")
    assert rows.rows() == [("l1", at(6, 5), 62.0), ("l1", at(6, 35), 52.0), ("l1", at(7, 5), 49.5),
                           ("l2", at(7, 5), 49.5)]  # 66 is one point out of level 2: still inside


def test_the_utc_offset_of_an_episode_end_comes_from_the_readings_in_its_condition():
    from lake.metrics.episodes import with_utc_offsets

    # The nearest reading to 02:20 is out of the hypo condition; the one a minute later is in it.
    times = np.array(["2024-10-27T02:20:00", "2024-10-27T02:21:00"], dtype="datetime64[ns]")
    at = datetime(2024, 10, 27, 2, 20)
    episodes = pl.DataFrame({"kind": ["hypo"], "level": ["l1"], "start_local_ts": [at], "end_local_ts": [at]})
    out = with_utc_offsets(episodes, times, np.array([120.0, 60.0]), np.array([120, 60]), 5)
    assert out.select("start_offset_min", "end_offset_min").row(0) == (60, 60)


def berlin_autumn_night(low_from: str, low_until: str) -> pl.DataFrame:
    """Berlin, 2024-10-27: 03:00 CEST becomes 02:00 CET at 01:00 UTC, so local 02:00-02:59 happens
    twice. Readings every 5 minutes (UTC), the first pass 30 s later in the minute than the
    second; glucose 60 from `low_from` to `low_until` (UTC, inclusive), else 120."""
    five_minutes = np.timedelta64(5, "m")
    utc = np.arange(np.datetime64("2024-10-26T22:00"), np.datetime64("2024-10-27T04:00"), five_minutes)
    first_pass = utc < np.datetime64("2024-10-27T01:00")
    low = (utc >= np.datetime64(low_from)) & (utc <= np.datetime64(low_until))
    utc = utc + np.where(first_pass, np.timedelta64(30, "s"), np.timedelta64(0, "s"))
    offset = np.where(first_pass, 120, 60)
    local = (utc + offset.astype("timedelta64[m]")).astype("datetime64[us]")
    return pl.DataFrame({"subject_id": "s", "local_ts": local, "glucose_mg_dl": np.where(low, 60.0, 120.0),
                         "utc_offset_min": offset})


def test_a_low_across_both_passes_of_the_repeated_hour_starts_in_the_first_and_ends_in_the_second():
    from lake.metrics.subject import episodes_by_subject

    # Low from 00:00 to 01:55 UTC: local 02:00 CEST .. 02:55 CET, both passes low at each end.
    frame = berlin_autumn_night("2024-10-27T00:00", "2024-10-27T01:55")
    (episode,) = episodes_by_subject(frame).filter(kind="hypo", level="l1").iter_rows(named=True)
    assert (episode["start_local_ts"], episode["end_local_ts"]) == (datetime(2024, 10, 27, 2, 0),
                                                                    datetime(2024, 10, 27, 2, 55))
    assert (episode["start_offset_min"], episode["end_offset_min"]) == (120, 60)  # 00:00 to 01:55 UTC


def test_a_low_in_the_repeated_hour_when_clocks_go_back_gets_the_second_passes_offset():
    from lake.metrics.subject import episodes_by_subject

    # Low from 01:20 to 01:50 UTC: local 02:20-02:50 CET, the second pass only.
    frame = berlin_autumn_night("2024-10-27T01:20", "2024-10-27T01:50")
    (episode,) = episodes_by_subject(frame).filter(kind="hypo", level="l1").iter_rows(named=True)
    assert episode["start_local_ts"] == datetime(2024, 10, 27, 2, 20)
    assert (episode["start_offset_min"], episode["end_offset_min"]) == (60, 60)  # 01:20 UTC, not 00:20


def test_an_episode_whose_ends_read_as_different_passes_never_ends_before_it_starts():
    from lake.metrics.episodes import with_utc_offsets

    # Local 02:20 reads as the second pass (UTC+1, 01:20 UTC), local 02:55 as the first (UTC+2,
    # 00:55 UTC): the readings of the repeated hour interleaved. The end keeps the start's offset.
    times = np.array(["2024-10-27T02:20:00", "2024-10-27T02:55:00", "2024-10-27T02:55:30"],
                     dtype="datetime64[ns]")
    start, end = datetime(2024, 10, 27, 2, 20), datetime(2024, 10, 27, 2, 55)
    episodes = pl.DataFrame({"kind": ["hypo"], "level": ["l1"], "start_local_ts": [start],
                             "end_local_ts": [end]})
    out = with_utc_offsets(episodes, times, np.array([60.0, 60.0, 120.0]), np.array([60, 120, 60]), 5)
    assert out.select("start_offset_min", "end_offset_min").row(0) == (60, 60)  # 01:20 to 01:55 UTC
