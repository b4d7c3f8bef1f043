"""The bundled pipeline examples that need no server run out of the box."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path
from types import SimpleNamespace

from tests.engine.conftest import duftui


def test_weekly_summary_runs_its_processing_script(example_workspace: Path) -> None:
    workspace = SimpleNamespace(root=example_workspace)
    result = duftui(
        workspace,
        "run",
        "clinic/weekly-summary",
        "-p",
        "start=2025-03-01",  # type: ignore[arg-type]
        "-p",
        "end=2025-03-07",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [archive] = (example_workspace / "exports" / "clinic").glob("summary_*.zip")
    with zipfile.ZipFile(archive) as opened:
        assert sorted(opened.namelist()) == [
            "summary_2025-03-01_2025-03-07.csv",
            "summary_2025-03-01_2025-03-07.csv.md5",
        ]
        rows = list(csv.reader(opened.read(opened.namelist()[0]).decode().splitlines()))
    assert rows[0] == ["clinic", "days", "patients"]
    assert [row[:2] for row in rows[1:]] == [
        [name, "7"]
        for name in ("Arusha North", "Dodoma Central", "Mwanza Lake", "Tanga Coast", "Zürich Süd")
    ]
    assert "summarised" in result.stdout


def test_inbox_collects_local_files_with_non_ascii_names(example_workspace: Path) -> None:
    workspace = SimpleNamespace(root=example_workspace)
    result = duftui(workspace, "run", "clinic/inbox")  # type: ignore[arg-type]
    assert result.returncode == 0, result.stdout + result.stderr
    target = example_workspace / "exports" / "clinic" / "uploads"
    assert sorted(p.name for p in target.iterdir()) == [
        "upload_zürich_süd.csv",
        "upload_zürich_süd.csv.md5",
    ]
