"""`duftui prune` from the command line: settings, options, dry runs and exit codes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from duftui.store.timestamps import to_iso, utcnow
from tests.conftest import Cli
from tests.store.test_prune import History


def _history(tmp_path: Path) -> History:
    history = History(tmp_path / "ws")
    (history.root / "tasks").mkdir(parents=True, exist_ok=True)
    return history


def _old_runs(history: History, count: int) -> list[int]:
    """Runs queued 400 days before the real clock (the CLI prunes against it)."""
    ids = [history.run("p/a", 1) for _ in range(count)]
    for run_id in ids:
        history.db.execute(
            "UPDATE run SET queued_at = ? WHERE id = ?",
            (to_iso(utcnow() - timedelta(days=400)), run_id),
        )
    return ids


def test_prune_needs_something_to_prune_by(tmp_path: Path) -> None:
    history = _history(tmp_path)
    try:
        result = Cli(history.root)("prune")
        assert result.exit_code == 3
        assert "nothing to prune by: set [retention] in duftui.toml" in result.stderr
    finally:
        history.close()


def test_prune_follows_duftui_toml_and_the_options(tmp_path: Path) -> None:
    history = _history(tmp_path)
    try:
        ids = _old_runs(history, 4)
        cli = Cli(history.root)
        dry = cli("prune", "--older-than", "90d", "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert dry.stdout.splitlines()[0] == (
            "would remove 3 runs, 9 log lines in 3 chunks, 3 output records, 3 run folders"
        )
        assert history.ids() == set(ids)
        (history.root / "duftui.toml").write_text('[retention]\nkeep_last = 2\n')
        data = json.loads(cli("prune", "--json").stdout)
        assert data["runs"] == 2 and not data["dry_run"]
        assert history.ids() == set(ids[-2:])
        assert cli("prune", "--older-than", "soon").exit_code == 2
    finally:
        history.close()


def test_a_broken_duftui_toml_is_named_and_stops_a_prune_by_settings(tmp_path: Path) -> None:
    history = _history(tmp_path)
    try:
        (history.root / "duftui.toml").write_text('[retention]\nruns = "forever"\n')
        result = Cli(history.root)("prune")
        assert result.exit_code == 1
        assert "duftui.toml:2: retention.runs:" in result.stderr
        assert "Traceback" not in result.output
    finally:
        history.close()


def test_a_fifo_or_deep_duftui_toml_is_one_located_line_and_never_hangs(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import python_env

    history = _history(tmp_path)
    try:
        settings = history.root / "duftui.toml"
        os.mkfifo(settings)
        done = subprocess.run(
            [sys.executable, "-m", "duftui", "-w", str(history.root), "prune"],
            capture_output=True, text=True, env=python_env(), timeout=120,
        )
        assert done.returncode == 1, done.stderr
        assert done.stderr.splitlines()[0].startswith("duftui: duftui.toml: ")
        assert "Traceback" not in done.stderr
        settings.unlink()
        settings.write_text("[retention]\nruns = " + "[" * 20000 + "]" * 20000 + "\n")
        result = Cli(history.root)("prune")
        assert result.exit_code == 1 and "duftui.toml:2" in result.stderr
        assert "Traceback" not in result.output
    finally:
        history.close()
