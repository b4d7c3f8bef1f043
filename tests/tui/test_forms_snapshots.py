"""Snapshots of the definition forms and the Connections and Trash screens, at 80×24 and
160×48, on the pinned clock and zone (the schedule previews are fixed too).

Update with `pytest tests/tui/test_forms_snapshots.py --snapshot-update`, then look at
the SVGs under `__snapshots__/` before committing them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.screen import Screen

from duftui.tui.forms.conflict import ConflictScreen
from duftui.tui.forms.connection_form import ConnectionForm
from duftui.tui.forms.project_form import ProjectForm
from duftui.tui.forms.reschedule_form import RescheduleForm
from duftui.tui.forms.task_form import TaskForm
from tests.tui.conftest import wait_for, wait_settled
from tests.tui.test_snapshots import LARGE, SMALL, Setup, shoot

Factory = Callable[[Any], Screen[Any]]


def open_form(factory: Factory, *keys: str, tab: str | None = None) -> Setup:
    """Push the form made by `factory(session)`, optionally show a tab and press keys."""

    async def setup(pilot: Pilot[Any]) -> None:
        form = factory(pilot.app.session)  # type: ignore[attr-defined]
        pilot.app.push_screen(form)
        await wait_for(  # opened: the first field has taken the focus
            pilot,
            lambda: getattr(form, "_initial", None) is not None and pilot.app.focused is not None,
            what="form",
        )
        await wait_settled(pilot)
        if tab is not None:
            form.show_tab(tab)  # type: ignore[attr-defined]
            # show_tab focuses the tab's first field after a refresh: wait for it, or the
            # picture depends on whether the focus style was painted yet.
            await wait_for(pilot, lambda: in_tab(pilot.app.focused, tab), what="tab focus")
        for key in keys:
            await pilot.press(key)
            await wait_settled(pilot)
        steady(pilot)
        await pilot.pause()

    return setup


def in_tab(widget: Any, tab: str) -> bool:
    return widget is not None and any(node.id == tab for node in widget.ancestors)


def steady(pilot: Pilot[Any]) -> None:
    """Stop the cursors blinking: a picture must not depend on when it was taken."""
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False  # type: ignore[attr-defined]


def task(key: str | None, project: str = "demo") -> Factory:
    return lambda session: TaskForm(session, key, project)


class TestTaskForm:
    def test_task_form_general_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, open_form(task("demo/greet")))

    def test_task_form_general_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, open_form(task("demo/greet")))

    def test_task_form_new_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, open_form(task(None)))

    def test_task_form_run_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        setup = open_form(task("demo/greet"), tab="tab-run")
        assert shoot(snap_compare, seeded_ws, SMALL, setup)

    def test_task_form_params_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        setup = open_form(task("demo/greet"), tab="tab-params")
        assert shoot(snap_compare, seeded_ws, LARGE, setup)

    def test_task_form_schedules_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        """The next five fires, with their UTC offsets, on the pinned clock."""
        setup = open_form(task("clinic/daily-visits"), tab="tab-schedules")
        assert shoot(snap_compare, seeded_ws, SMALL, setup)

    def test_task_form_pipeline_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        setup = open_form(task("clinic/daily-visits"), tab="tab-pipeline")
        assert shoot(snap_compare, seeded_ws, LARGE, setup)

    def test_task_form_refused_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        """A new task saved empty: each problem next to its field, and the summary."""
        assert shoot(snap_compare, seeded_ws, SMALL, open_form(task(None), "ctrl+s"))


class TestRescheduleForm:
    def test_reschedule_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        setup = open_form(lambda s: RescheduleForm(s, "clinic/daily-visits"))
        assert shoot(snap_compare, seeded_ws, SMALL, setup)

    def test_reschedule_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        setup = open_form(lambda s: RescheduleForm(s, "clinic/daily-visits"))
        assert shoot(snap_compare, seeded_ws, LARGE, setup)


class TestProjectForm:
    def test_project_form_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, open_form(lambda s: ProjectForm(s, "demo")))

    def test_project_form_schedules_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        setup = open_form(lambda s: ProjectForm(s, "pipeline"), tab="tab-schedules")
        assert shoot(snap_compare, seeded_ws, LARGE, setup)


class TestConnectionForm:
    def test_connection_form_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        setup = open_form(lambda s: ConnectionForm(s, "smtp"))
        assert shoot(snap_compare, seeded_ws, SMALL, setup)

    def test_connection_form_new_sftp_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        """Fields follow the type; the password input is empty and says where it goes."""
        setup = open_form(lambda s: ConnectionForm(s, None, kind="sftp"))
        assert shoot(snap_compare, seeded_ws, LARGE, setup)


def conflict() -> Setup:
    async def setup(pilot: Pilot[Any]) -> None:
        await open_form(task("demo/hello"))(pilot)
        pilot.app.push_screen(ConflictScreen("tasks/demo/hello.toml"))
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConflictScreen))

    return setup


class TestConflict:
    def test_file_changed_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, conflict())

    def test_file_changed_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, conflict())


def open_screen(action: str) -> Setup:
    async def setup(pilot: Pilot[Any]) -> None:
        await pilot.app.run_action(action)
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ != "DashboardScreen")
        await wait_settled(pilot)

    return setup


class TestConnectionsScreen:
    def test_connections_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, open_screen("open_connections"))

    def test_connections_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, open_screen("open_connections"))


def with_trash(workspace: Path) -> Path:
    """Two deleted definitions with fixed times, as `delete_task` leaves them."""
    folder = workspace / ".duftui" / "trash"
    folder.mkdir(parents=True, exist_ok=True)
    for stem, kind, target, original, when in (
        ("20260301T090000Z-demo-old", "task", "demo/old", "tasks/demo/old.toml", "09:00"),
        ("20260302T101500Z-connection-ftp", "connection", "ftp", "connections.toml", "10:15"),
    ):
        (folder / f"{stem}.toml").write_text('name = "Old"\n')
        day = stem[6:8]
        meta = {
            "kind": kind,
            "target": target,
            "original": original,
            "deleted_at": f"2026-03-{day}T{when}:00+00:00",
            "deleted_by": "ann",
        }
        (folder / f"{stem}.json").write_text(json.dumps(meta))
    return workspace


class TestTrash:
    def test_trash_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, with_trash(seeded_ws), SMALL, open_screen("open_trash"))

    def test_trash_empty_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, open_screen("open_trash"))
