"""The Luigi central scheduler's UI as people use it: after a BuildGold run through luigid, a real
browser (headless Chromium) shows BuildGold's dependency graph with every task DONE, and the
progress and status messages the tasks report are visible through luigid's API.

Why a browser: the visualiser is a JavaScript page that builds the graph from luigid's API; only
rendering it proves the scheduler serves what the UI needs (an HTML fetch would only see an empty
page). Debian's `chromium` is installed by .ci/run; without it this test fails, it never skips.
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.parse
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.luigid import Luigid, run_failure, running_luigid
from tests.servers import stop_process_group
from tests.tasks.conftest import run_luigi, simulated_sites, sites_env

pytestmark = pytest.mark.servers

SUBJECTS = ["alice", "bob"]
START, END = date(2024, 3, 2), date(2024, 3, 3)
PERIOD = ["--start", str(START), "--end", str(END)]
CHROMIUM_TIMEOUT_S = 60
# Tasks that do the work report progress; wrapper tasks (BuildGold, IngestAll, ...) only require.
REPORTING = {"IngestNightscout", "BuildBronzeEntries", "BuildGlucoseReadings", "BuildDailyGlucose",
             "BuildGlucoseSummary", "BuildAgp", "BuildGlucoseEpisodes", "BuildDailyTreatments"}


def chromium_binary() -> str:
    """Debian's chromium (installed by .ci/run). Missing is a failure, not a skip."""
    found = shutil.which("chromium")
    if not found:
        pytest.fail("chromium is not installed: run `apt-get install -y chromium` (.ci/run does it)")
    return found


def chromium(url: str, tmp_path: Path, *args: str) -> str:
    """Run headless Chromium once on `url` with `args`; return its stdout.

    `--virtual-time-budget` lets the page's scripts and API calls finish before the DOM is dumped
    or the screenshot taken. Chromium starts helper processes: it runs in its own process group,
    killed as a whole if it outlives the timeout, so nothing is left behind.
    """
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    command = [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", "--no-default-browser-check", f"--user-data-dir={profile}",
               "--virtual-time-budget=10000", *args, url]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        out, err = process.communicate(timeout=CHROMIUM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        stop_process_group(process, timeout=5)
        pytest.fail(f"chromium did not finish within {CHROMIUM_TIMEOUT_S} s on {url}")
    finally:
        stop_process_group(process, timeout=5)
    assert process.returncode == 0, f"chromium exited with {process.returncode}: {err[-2000:]}"
    return out


class RenderedGraph(HTMLParser):
    """What the visualiser drew: its title (#dependencyTitle, the root task) and the nodes of its
    SVG graph, <a class="graph-node-a" data-task-status=... data-task-id=...><text>TaskName</text></a>,
    as (name, status, task id)."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.nodes: list[tuple[str, str, str]] = []
        self._node: dict[str, str] | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "a" and "graph-node-a" in attributes.get("class", "").split():
            self._node = attributes
        self._in_title = attributes.get("id") == "dependencyTitle"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()
        if self._node is not None and data.strip():
            self.nodes.append((data.strip(), self._node.get("data-task-status", ""),
                               self._node.get("data-task-id", "")))

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False
        if tag == "a":
            self._node = None


def graph_url(scheduler: Luigid, task_id: str) -> str:
    return f"{scheduler.url}/static/visualiser/index.html#tab=graph&taskId={urllib.parse.quote(task_id)}"


def test_luigid_ui_shows_build_gold_and_its_dependencies_done_and_tasks_report_progress(tmp_path):
    with simulated_sites(SUBJECTS, START - timedelta(2), END + timedelta(2)) as (servers, _):
        env = {"LAKE_HOME": str(tmp_path / "lakehouse")} | sites_env(tmp_path, servers)
        with running_luigid(tmp_path / "luigid") as scheduler:
            # Two workers, so that luigid's `lake_writer` resource is what keeps the writers apart.
            result = run_luigi(["BuildGold", *PERIOD, "--workers", "2", *scheduler.scheduler_args()], env,
                               timeout=240)
            assert result.returncode == 0, run_failure(result.stderr)

            done = scheduler.api("task_list", status="DONE")
            build_gold = next(tid for tid, t in done.items() if t["name"] == "BuildGold")
            dom = chromium(graph_url(scheduler, build_gold), tmp_path, "--dump-dom")
            screenshot = tmp_path / "luigid.png"
            chromium(graph_url(scheduler, build_gold), tmp_path, f"--screenshot={screenshot}",
                     "--window-size=1400,1000", "--hide-scrollbars")
            ingest_id = next(tid for tid, t in done.items() if t["name"] == "IngestNightscout")
            message = scheduler.api("get_task_status_message", task_id=ingest_id)
            resources = scheduler.api("resource_list")

    # The rendered graph: BuildGold and every task it depends on, each drawn as DONE.
    graph = RenderedGraph()
    graph.feed(dom)
    assert graph.title == f"BuildGold(end={END}, start={START})", graph.title
    drawn = {task_id: (name, status) for name, status, task_id in graph.nodes}
    assert set(drawn) == set(done), "the graph does not show exactly the tasks luigid has DONE"
    assert {status for _, status in drawn.values()} == {"DONE"}
    names = {name for name, _ in drawn.values()}
    assert {"BuildGold", "IngestAll", "IngestNightscout", "BuildBronzeEntries", "BuildGlucoseReadings",
            "BuildDailyGlucose", "BuildGlucoseSummary", "BuildAgp", "BuildGlucoseEpisodes",
            "BuildDailyTreatments"} <= names
    assert screenshot.stat().st_size > 10_000  # a rendered page, not a blank one

    # Progress and status messages set by the tasks (LakeTask.progress) reached the scheduler.
    assert "entries" in message["statusMessage"] and "landed" in message["statusMessage"], message
    for task_id, task in done.items():
        if task["name"] in REPORTING:
            assert task["progress_percentage"] == 100, (task_id, task["progress_percentage"])
            assert task["status_message"], task_id
    daily = next(t for t in done.values() if t["name"] == "BuildDailyGlucose")
    assert daily["status_message"].startswith("gold.daily_glucose: "), daily["status_message"]

    # The Resources tab shows `lake_writer` (this luigid's config gives it 1, as docker/luigid.cfg
    # does), and with two workers the lake's writers (SQLite catalog) took turns: no two tasks
    # holding it ran at the same time, by luigid's own clock (picked up .. marked done).
    assert [(r["name"], r["num_total"]) for r in resources] == [("lake_writer", 1)]
    assert daily["resources"] == {"lake_writer": 1}
    writers = sorted((t["time_running"], t["last_updated"], tid) for tid, t in done.items()
                     if "lake_writer" in (t["resources"] or {}))
    assert len(writers) >= 10
    for (_, ended, before), (started, _, after) in zip(writers, writers[1:]):
        assert started >= ended, f"{after} started while {before} was running"
