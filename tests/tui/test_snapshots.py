"""Snapshots of every screen at 80×24 and 160×48, on a pinned clock and a fixed history.

Update with `pytest tests/tui/test_snapshots.py --snapshot-update`, then look at the SVGs
under `__snapshots__/` before committing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.tui.conftest import make_app, wait_for, wait_settled
from tests.tui.seed import IDS

SMALL = (80, 24)
LARGE = (160, 48)

Setup = Callable[[Pilot[Any]], Awaitable[None]]


def shoot(
    snap_compare: Any,
    workspace: Path,
    size: tuple[int, int],
    setup: Setup | None = None,
    **options: Any,
) -> bool:
    """Start the app frozen in time, run `setup`, wait until nothing moves, compare."""
    app = make_app(workspace, frozen=True, **options)

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_settled(pilot)
        if setup is not None:
            await setup(pilot)
            await wait_settled(pilot)

    return bool(snap_compare(app, terminal_size=size, run_before=run_before))


def press(*keys: str) -> Setup:
    async def setup(pilot: Pilot[Any]) -> None:
        for key in keys:
            await pilot.press(key)
            await wait_settled(pilot)

    return setup


def open_run(name: str, *keys: str) -> Setup:
    async def setup(pilot: Pilot[Any]) -> None:
        pilot.app.open_run(IDS[name])  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "RunScreen")
        await wait_settled(pilot)
        for key in keys:
            await pilot.press(key)
            await wait_settled(pilot)

    return setup


def open_task(key: str, *keys: str) -> Setup:
    async def setup(pilot: Pilot[Any]) -> None:
        pilot.app.open_task(key)  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "TaskScreen")
        await wait_settled(pilot)
        for key_name in keys:
            await pilot.press(key_name)
            await wait_settled(pilot)

    return setup


class TestDashboard:
    def test_dashboard_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL)

    def test_dashboard_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE)

    def test_dashboard_empty_80x24(self, snap_compare: Any, console_ws: Path) -> None:
        """A fresh workspace: every panel says what to do instead of staying blank."""
        assert shoot(snap_compare, console_ws, SMALL)


class TestProjects:
    def test_projects_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, press("2"))

    def test_projects_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, press("2"))


class TestTasks:
    def test_tasks_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, press("3"))

    def test_tasks_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        """Broken definitions show their located error next to the others."""
        assert shoot(snap_compare, seeded_ws, LARGE, press("3"))

    def test_tasks_filtered_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, press("3", "slash", "h", "e", "l"))


class TestTask:
    def test_task_overview_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, open_task("demo/greet"))

    def test_task_overview_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, open_task("clinic/daily-visits"))

    def test_task_runs_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, open_task("demo/hello", "greater_than_sign"))

    def test_task_log_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, open_task("demo/hello", "f"))

    def test_task_broken_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, open_task("demo/broken"))


class TestRun:
    def test_run_log_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, open_run("flaky"))

    def test_run_log_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, open_run("flaky"))

    def test_run_level_filter_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, open_run("flaky", "l", "l"))

    def test_run_outputs_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, open_run("visits", "greater_than_sign"))

    def test_run_details_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, open_run("dead", "less_than_sign"))


class TestHistory:
    def test_history_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, press("4"))

    def test_history_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, press("4"))

    def test_history_selected_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, press("4", "down", "space", "space"))


class TestHelp:
    def test_help_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, press("3", "question_mark"))

    def test_help_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, open_run("flaky", "question_mark"))


class TestDialogs:
    def test_params_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, open_task("demo/greet", "R"))

    def test_params_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, open_task("demo/greet", "R"))

    def test_confirm_cancel_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, open_run("heartbeat", "c"))

    def test_confirm_cancel_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, open_run("heartbeat", "c"))

    def test_export_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, press("4", "ctrl+e"))

    def test_export_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, press("4", "ctrl+e"))


def quit_dialog(running: int, queued: int) -> Setup:
    async def setup(pilot: Pilot[Any]) -> None:
        from duftui.tui.screens.quit import QuitScreen

        # A covered screen stops updating: let the dashboard's tables size their columns
        # to their rows (DataTable does that when idle) before the dialog covers it.
        await wait_settled(pilot)
        await wait_for(
            pilot,
            lambda: not any(
                table._require_update_dimensions for table in pilot.app.screen.query(DataTable)
            ),
            what="the tables laid out",
        )
        pilot.app.push_screen(QuitScreen(running, queued))
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, QuitScreen))

    return setup


class TestQuit:
    def test_quit_with_running_runs_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, quit_dialog(2, 1))

    def test_quit_with_queued_runs_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, quit_dialog(0, 3))


class TestThemes:
    def test_light_dashboard_80x24(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, SMALL, press("ctrl+t"))

    def test_light_run_160x48(self, snap_compare: Any, seeded_ws: Path) -> None:
        assert shoot(snap_compare, seeded_ws, LARGE, open_run("flaky", "ctrl+t"))
