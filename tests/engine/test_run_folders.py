"""Run folders are never reused: they are keyed by the state file's creation id plus the
run id, and a run whose folder already holds files is refused (issue 15, item 9)."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

from duftui.store import migrations
from duftui.store.db import Store
from duftui.store.states import RunStatus
from tests.engine.conftest import Workspace

LISTING = """
import os
folder = os.environ["DUFTUI_OUTPUT_DIR"]
print("found:", sorted(os.listdir(folder)))
open(os.path.join(folder, "mine.txt"), "w").write(os.environ["DUFTUI_RUN_ID"])
"""


def _state_files(ws: Workspace) -> list[Path]:
    state = ws.root / ".duftui"
    return [state / name for name in ("state.db", "state.db-wal", "state.db-shm")]


def _drop_state(ws: Workspace) -> None:
    ws.close()
    ws._store = None
    for path in _state_files(ws):
        path.unlink(missing_ok=True)


def test_a_new_state_file_never_finds_an_old_runs_files(ws: Workspace) -> None:
    key = ws.python_task("lister", LISTING)
    first = ws.run(key)
    assert first.status == RunStatus.SUCCEEDED, ws.lines(first.id)
    assert "found: []" in ws.lines(first.id)
    old_folder = Path(first.output_dir or "")
    assert (old_folder / "mine.txt").read_text() == str(first.id)

    _drop_state(ws)  # deleted: run ids start again at 1
    again = ws.run(key)
    assert again.id == first.id
    assert again.status == RunStatus.SUCCEEDED, ws.lines(again.id)
    assert "found: []" in ws.lines(again.id)
    assert Path(again.output_dir or "") != old_folder
    assert (old_folder / "mine.txt").read_text() == str(first.id)  # the old run's file kept


def test_run_folders_are_keyed_by_the_creation_id(ws: Workspace) -> None:
    key = ws.python_task("lister", LISTING)
    run = ws.run(key)
    creation_id = ws.store.creation_id
    assert re.fullmatch(r"\d{8}-[0-9a-f]{8}", creation_id)
    assert Path(run.output_dir or "") == ws.root / ".duftui" / "runs" / creation_id / str(run.id)


def test_a_restored_backup_is_refused_a_used_folder(ws: Workspace, tmp_path: Path) -> None:
    key = ws.python_task("lister", LISTING)
    assert ws.run(key).status == RunStatus.SUCCEEDED
    backup = tmp_path / "backup.db"
    with closing(sqlite3.connect(ws.store.path)) as live, closing(sqlite3.connect(backup)) as copy:
        live.backup(copy)
    second = ws.run(key)
    assert second.status == RunStatus.SUCCEEDED
    used = Path(second.output_dir or "")

    _drop_state(ws)  # restored from the backup: same creation id, the next run id is 2 again
    backup.rename(ws.root / ".duftui" / "state.db")
    repeated = ws.run(key)
    assert repeated.id == second.id
    assert repeated.status == RunStatus.FAILED
    assert repeated.error == (
        f"not started: the run folder {used} already holds files of another run (was the "
        "state file restored from a backup?); move that folder away, then retry the run"
    )
    assert (used / "mine.txt").read_text() == str(second.id)  # untouched
    assert sorted(p.name for p in used.iterdir()) == ["mine.txt"]


def test_an_existing_state_file_gets_a_creation_id_when_migrated(tmp_path: Path) -> None:
    paths = [tmp_path / "one.db", tmp_path / "two.db"]
    for path in paths:  # a state file written before migration 2
        with closing(sqlite3.connect(path)) as conn:
            conn.executescript(migrations.V1 + "\nPRAGMA user_version = 1;")
    ids = []
    for path in paths:
        store = Store(path)
        ids.append(store.creation_id)
        store.close()
        reopened = Store(path)
        assert reopened.creation_id == ids[-1]  # made once, kept
        reopened.close()
    assert ids[0] != ids[1]
