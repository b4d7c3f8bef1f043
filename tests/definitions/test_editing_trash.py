"""Delete moves a task file to `.duftui/trash/` (never deletes it), keeps the run history,
and restore puts it back unless its place is taken again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from duftui.definitions import load_workspace
from duftui.definitions.editing import (
    InUse,
    KeyTaken,
    NotFound,
    delete_task,
    duplicate_task,
    list_trash,
    reschedule_task,
    restore,
    save_task,
)
from duftui.engine.submit import submit_task
from duftui.store.audit import recent
from duftui.store.db import Store
from duftui.store.tables import Run
from tests.conftest import write

REPORT = """\
# Weekly report; keep this comment.
name = "Report"

[run]
kind = "command"
command = ["true"]  # nothing to do

[[schedule]]
cron = "0 7 * * 1"
"""


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    write(root / "tasks" / "ops" / "report.toml", REPORT)
    write(root / "tasks" / "ops" / "weekly" / "summary.toml", REPORT.replace("Report", "Sum"))
    write(
        root / "tasks" / "ops" / "mail.toml",
        'name = "Mail"\nneeds = ["report"]\n\n[run]\nkind = "command"\ncommand = ["true"]\n',
    )
    return root


@pytest.fixture
def store(ws: Path) -> Iterator[Store]:
    opened = Store(ws / ".duftui" / "state.db")
    yield opened
    opened.close()


def runs_of(store: Store, key: str) -> int:
    with store.read() as conn:
        return conn.execute(
            select(func.count()).select_from(Run).where(Run.task_key == key)
        ).scalar_one()


def actions(store: Store) -> list[tuple[str, str]]:
    with store.read() as conn:
        return [(row.action, row.target) for row in reversed(recent(conn))]


def test_delete_moves_the_file_to_the_trash_and_restore_puts_it_back(
    ws: Path, store: Store
) -> None:
    path = ws / "tasks" / "ops" / "weekly" / "summary.toml"
    submit_task(store, load_workspace(ws), "ops/summary")
    entry = delete_task(ws, "ops/summary", user="eve", store=store)
    assert not path.exists()
    assert entry.path.parent == ws / ".duftui" / "trash"
    assert entry.path.name.endswith("-ops-summary.toml") and entry.id[:8].isdigit()
    assert entry.path.read_text() == REPORT.replace("Report", "Sum")
    sidecar = json.loads(entry.sidecar.read_text())
    assert sidecar == {
        "kind": "task",
        "target": "ops/summary",
        "original": "tasks/ops/weekly/summary.toml",
        "deleted_at": entry.deleted_at.isoformat() if entry.deleted_at else None,
        "deleted_by": "eve",
    }
    assert "ops/summary" not in load_workspace(ws).tasks
    assert runs_of(store, "ops/summary") == 1  # the history stays
    assert list_trash(ws) == [entry]

    restored = restore(ws, entry.id, user="eve", store=store)
    assert path.read_text() == REPORT.replace("Report", "Sum")
    assert restored.rel == "tasks/ops/weekly/summary.toml" and restored.problems == []
    assert list_trash(ws) == [] and not entry.sidecar.exists()
    assert "ops/summary" in load_workspace(ws).tasks
    assert runs_of(store, "ops/summary") == 1
    assert actions(store)[-2:] == [("delete", "ops/summary"), ("restore", "ops/summary")]


def test_a_task_that_others_need_is_deleted_only_when_forced(ws: Path) -> None:
    with pytest.raises(InUse) as in_use:
        delete_task(ws, "ops/report")
    assert in_use.value.users == ["ops/mail"]
    assert str(in_use.value) == "task ops/report is needed by ops/mail; delete anyway?"
    assert (ws / "tasks" / "ops" / "report.toml").exists()
    delete_task(ws, "ops/report", force=True)
    problems = [str(p) for p in load_workspace(ws).problems]
    assert problems == [
        "tasks/ops/mail.toml:2: needs[0]: no task 'report' in project 'ops' "
        "(expected one of: summary)"
    ]


def test_restore_refuses_when_the_key_is_taken_again(ws: Path) -> None:
    entry = delete_task(ws, "ops/report", force=True)
    write(
        ws / "tasks" / "ops" / "report.toml",
        'name = "Another"\n[run]\nkind = "command"\ncommand = ["true"]\n',
    )
    with pytest.raises(KeyTaken) as taken:
        restore(ws, entry)
    assert "tasks/ops/report.toml exists again" in str(taken.value)
    assert entry.path.exists() and entry.sidecar.exists()
    (ws / "tasks" / "ops" / "report.toml").unlink()
    write(ws / "tasks" / "ops" / "old" / "report.toml", REPORT)  # same key, other folder
    with pytest.raises(KeyTaken):
        restore(ws, entry)


def test_deleting_twice_in_one_second_keeps_both(ws: Path) -> None:
    first = delete_task(ws, "ops/report", force=True)
    duplicate_task(ws, "ops/summary", "report")
    (ws / "tasks" / "ops" / "weekly" / "report.toml").rename(ws / "tasks" / "ops" / "report.toml")
    second = delete_task(ws, "ops/report", force=True)
    assert first.id != second.id
    assert {e.id for e in list_trash(ws)} == {first.id, second.id}
    assert first.path.read_text() == REPORT


def test_new_task_then_delete_and_restore_round_trip(ws: Path) -> None:
    data = {"name": "Fresh", "run": {"kind": "command", "command": ["echo", "hi"]}}
    save_task(ws, "ops", "fresh", data, opened_digest=None)
    text = (ws / "tasks" / "ops" / "fresh.toml").read_text()
    entry = delete_task(ws, "fresh")
    assert not (ws / "tasks" / "ops" / "fresh.toml").exists()
    restore(ws, entry)
    assert (ws / "tasks" / "ops" / "fresh.toml").read_text() == text


def test_unknown_things_are_not_found(ws: Path) -> None:
    with pytest.raises(NotFound):
        delete_task(ws, "ops/nope")
    with pytest.raises(NotFound):
        restore(ws, "20000101T000000Z-ops-nope")
    assert list_trash(ws) == []


def test_lifecycle_create_reschedule_duplicate_delete_restore(ws: Path, store: Store) -> None:
    """The issue's walk-through, checking the TOML on disk after every step."""
    tasks = ws / "tasks" / "ops"
    form = {
        "name": "Ping",
        "enabled": True,
        "run": {"kind": "command", "command": ["true"]},
        "schedule": [{"every": "15m", "misfire": "coalesce"}],
    }
    save_task(ws, "ops", "ping", form, opened_digest=None, user="ann", store=store)
    created = (
        'name = "Ping"\n\n[run]\nkind = "command"\ncommand = ["true"]\n\n'
        '[[schedule]]\nevery = "15m"\n'
    )
    assert (tasks / "ping.toml").read_text() == created
    # A comment added by hand survives the reschedule form.
    write(tasks / "ping.toml", created.replace('every = "15m"', 'every = "15m"  # often'))
    reschedule_task(ws, "ops/ping", [{"every": "1h"}], False, user="ann", store=store)
    rescheduled = created.replace('name = "Ping"\n', 'name = "Ping"\nenabled = false\n').replace(
        'every = "15m"', 'every = "1h"  # often'
    )
    assert (tasks / "ping.toml").read_text() == rescheduled
    copy = duplicate_task(ws, "ops/ping", user="ann", store=store)
    assert (tasks / "ping-copy.toml").read_text() == rescheduled.replace('"Ping"', '"Ping (copy)"')
    trashed = delete_task(ws, "ops/ping", user="ann", store=store)
    assert not (tasks / "ping.toml").exists() and trashed.path.read_text() == rescheduled
    restore(ws, trashed, user="ann", store=store)
    assert (tasks / "ping.toml").read_text() == rescheduled
    assert load_workspace(ws).ok
    assert actions(store) == [
        ("new", "ops/ping"),
        ("reschedule", "ops/ping"),
        ("duplicate", copy.target),
        ("delete", "ops/ping"),
        ("restore", "ops/ping"),
    ]
