"""A real Luigi central scheduler (luigid) on a free loopback port, for tests.

    with running_luigid(tmp_path / "luigid") as scheduler:
        run_luigi([..., "--scheduler-host", scheduler.host, "--scheduler-port", str(scheduler.port)], env)
        scheduler.api("task_list", status="DONE")

luigid runs in its own process group with its own config file (LUIGI_CONFIG_PATH) and its working
directory in `workdir`, so it reads only the `[scheduler]` and `[resources]` written here, never a
developer's `./luigi.cfg`. Resources are a scheduler setting: the workers' `[resources]` are ignored
when a central scheduler is used. Stopping sends SIGTERM, on which luigid saves its state and exits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.servers import LOOPBACK, installed_binary, start_on_free_port, stop_process_group

# What luigid needs for tests: failed tasks retried soon and never DISABLED for a day, and finished
# tasks kept in the UI for the whole test (the default removes them 10 minutes after they finish).
SCHEDULER_DEFAULTS = {
    "retry_delay": "60",
    "retry_count": "1000000",
    "disable_persist": "0",
    "remove_delay": "3600",
    "record_task_history": "false",
}


@dataclasses.dataclass(frozen=True)
class Luigid:
    """How to reach a running luigid: its HTTP API and its visualiser."""

    host: str
    port: int
    workdir: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "luigid.log"

    def scheduler_args(self) -> list[str]:
        """The luigi command-line options that send a run to this scheduler."""
        return ["--scheduler-host", self.host, "--scheduler-port", str(self.port)]

    def api(self, method: str, **data: Any) -> Any:
        """`GET /api/<method>?data=<json>`; returns the `response` member of the answer."""
        query = urllib.parse.urlencode({"data": json.dumps(data)})
        with urllib.request.urlopen(f"{self.url}/api/{method}?{query}", timeout=10) as answer:
            return json.load(answer)["response"]


def luigid_binary() -> Path:
    """The `luigid` script of the luigi package installed next to this Python, or one on PATH."""
    return installed_binary("luigid", "luigi")


def config_text(scheduler: Mapping[str, str], resources: Mapping[str, int]) -> str:
    lines = ["[scheduler]", *(f"{k} = {v}" for k, v in scheduler.items()), "", "[resources]",
             *(f"{k} = {v}" for k, v in resources.items())]
    return "\n".join(lines) + "\n"


def _answers(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/api/resource_list", timeout=2) as answer:
        return answer.status == 200


@contextlib.contextmanager
def running_luigid(workdir: Path, *, resources: Mapping[str, int] | None = None,
                   scheduler: Mapping[str, str] | None = None, timeout: float = 30) -> Iterator[Luigid]:
    """Start luigid on a free 127.0.0.1 port; yield once its HTTP API answers; stop it at the end.

    `resources` defaults to `lake_writer = 1` (the project's writer resource); `scheduler` settings
    are added to SCHEDULER_DEFAULTS. The log, the state file and the config stay in `workdir`.
    """
    workdir = Path(workdir)
    logdir = workdir / "logs"
    logdir.mkdir(parents=True, exist_ok=True)  # luigid fails when --logdir does not exist
    config = workdir / "luigid.cfg"
    config.write_text(config_text({**SCHEDULER_DEFAULTS, **(scheduler or {})},
                                  {"lake_writer": 1} if resources is None else resources))
    log = workdir / "luigid.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUIGI_")}
    env["LUIGI_CONFIG_PATH"] = str(config)

    process: subprocess.Popen | None = None
    try:
        process, port = start_on_free_port(
            lambda port: [str(luigid_binary()), "--port", str(port), "--address", LOOPBACK,
                          "--logdir", str(logdir), "--state-path", str(workdir / "state.pickle")],
            ready=lambda port: _answers(f"http://{LOOPBACK}:{port}"), what="luigid",
            port_taken="Address already in use", stop_signal=signal.SIGTERM, log=log, timeout=timeout,
            env=env, cwd=workdir)
        yield Luigid(host=LOOPBACK, port=port, workdir=workdir)
    finally:
        if process is not None:
            stop_process_group(process, timeout=15)


def run_failure(output: str, limit: int = 3000) -> str:
    """The useful part of a failed luigi run's log for an assertion message: the first error with
    its traceback (the log tail alone is mostly the execution summary), then the summary."""
    first_error = output.find("ERROR:")
    head = output[first_error:first_error + limit] if first_error >= 0 else ""
    return f"{head}\n...\n{output[-limit:]}"
