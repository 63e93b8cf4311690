"""notebooks/ are executed end to end against a real lake built by `luigi --module tasks BuildGold`,
and committed without outputs."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from lake import catalog
from lake.config import Settings
from tests.conftest import REPO
from tests.tasks.conftest import run_luigi

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
EXPLORE = REPO / "notebooks" / "explore.ipynb"


def outputs(nb) -> tuple[str, list[dict]]:
    """All text the cells printed or displayed, and every output with data."""
    text, data = [], []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                text.append(out["text"])
            if "data" in out:
                data.append(out["data"])
                text.append(out["data"].get("text/plain", ""))
    return "\n".join(text), data


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project folder as the README's main command leaves it: the embedded lake in ./lakehouse
    (built twice over two overlapping periods: the second build adds two days, so the snapshots of
    the first and of now differ) beside notebooks/."""
    folder = tmp_path_factory.mktemp("project")
    env = {"LAKE_HOME": str(folder / "lakehouse")}
    for start, end in (("2024-03-02", "2024-03-05"), ("2024-03-04", "2024-03-07")):
        result = run_luigi(["BuildGold", "--start", start, "--end", end, "--local-scheduler"], env)
        assert result.returncode == 0, result.stderr[-4000:]
    (folder / "notebooks").mkdir()
    (folder / "notebooks" / EXPLORE.name).write_bytes(EXPLORE.read_bytes())
    return folder


def test_explore_notebook_runs_end_to_end_read_only_on_a_built_lake(project, monkeypatch):
    # The kernel is a child process: it finds the repository, and with no lake configured it runs
    # in notebooks/ as Jupyter starts it and finds the project's embedded lake by itself.
    monkeypatch.delenv("LAKE_HOME", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    built_lake = {"LAKE_HOME": str(project / "lakehouse")}
    reader = catalog.connect(Settings.from_env(built_lake), read_only=True)
    snapshots_before = catalog.snapshot_count(reader)
    (daily_rows,) = catalog.raw_connection(reader).execute(
        f"SELECT count(*) FROM {catalog.qualified('gold.daily_glucose')}").fetchone()

    nb = nbformat.read(project / "notebooks" / EXPLORE.name, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(project / "notebooks")}}).execute()  # raises on any error

    text, data = outputs(nb)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []
    # The layers with their row counts, as the lake has them.
    assert daily_rows == 3 * 6  # three demo subjects, six local days
    assert re.search(rf"gold\s+gold\.daily_glucose\s+{daily_rows}\b", text), text[:3000]
    for table in ("raw.entries", "bronze.entries", "silver.glucose_readings", "gold.agp",
                  "meta.task_markers"):
        assert table in text
    # Two figures (time in ranges, AGP), the episodes table, and the two snapshots compared.
    assert sum("image/png" in d for d in data) == 2
    assert sum("text/html" in d for d in data) == 2
    assert f"catalog   sqlite:///{project / 'lakehouse' / 'catalog.sqlite'}" in text
    assert "hypo" in text and "l1" in text
    assert re.search(r"gold\.daily_glucose: snapshot \d+ \(first published\) against snapshot \d+ \(now\)",
                     text)
    assert "rows then 12, now 18: {'kept': 12, 'added': 6, 'removed': 0}" in text
    # Read-only: running the notebook wrote nothing.
    after = catalog.connect(Settings.from_env(built_lake), read_only=True)
    assert catalog.snapshot_count(after) == snapshots_before


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_have_no_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]


def test_explore_notebook_reaches_the_lake_read_only_through_lake_catalog():
    assert EXPLORE in NOTEBOOKS
    source = "\n".join(c.source for c in nbformat.read(EXPLORE, as_version=4).cells if c.cell_type == "code")
    assert "catalog.connect(settings, read_only=True)" in source
    assert "catalog.table(lake, TABLE, version=version)" in source
    assert "duckdb.connect" not in source and "ATTACH" not in source  # lake.catalog is the only way in
