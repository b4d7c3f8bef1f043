"""Keys that went to the wrong place (issue 20): 1-4 back to the lists, focus that got
trapped in a filter, enter and / on the Task screen's tabs."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, TabbedContent

from duftui.tui.widgets.log_view import LogView
from duftui.tui.widgets.run_table import RunTable
from tests.tui.conftest import make_app, table_keys, wait_for, wait_settled
from tests.tui.helpers import cursor_to, go, screen_named
from tests.tui.seed import IDS

pytestmark = pytest.mark.anyio
SIZE = (80, 24)


async def test_number_keys_return_to_the_list_not_to_the_run_opened_from_it(
    seeded_ws: Path,
) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        tasks = await go(pilot, "3", "TasksScreen")
        await cursor_to(pilot, tasks.query_one(DataTable), "demo/hello")
        await pilot.press("enter")
        await screen_named(pilot, "TaskScreen")
        await go(pilot, "1", "DashboardScreen")
        screen = await go(pilot, "3", "TasksScreen")
        assert screen is tasks
        await pilot.press("slash", *"flaky")
        await wait_for(
            pilot, lambda: table_keys(tasks.query_one(DataTable)) == ["demo/flaky"], what="filter"
        )


async def test_m_with_no_task_of_mine_can_be_pressed_again(seeded_ws: Path) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "3", "TasksScreen")
        app.session.user = "nobody-owns-anything"
        await pilot.press("m")
        await wait_for(pilot, lambda: not screen.query_one(DataTable).display, what="no rows")
        assert not isinstance(app.focused, Input)
        await pilot.press("m")
        await wait_for(pilot, lambda: screen.query_one(DataTable).display, what="rows again")
        assert screen.query_one("#filter", Input).value == ""
        assert screen.mine is False
        assert app.focused is screen.query_one(DataTable)


async def test_enter_on_the_task_runs_tab_opens_the_run(seeded_ws: Path) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.open_task("demo/hello")
        screen = await screen_named(pilot, "TaskScreen")
        await pilot.press("greater_than_sign")
        await wait_for(
            pilot, lambda: screen.query_one(TabbedContent).active == "tab-runs", what="Runs"
        )
        table = screen.query_one(RunTable)
        await wait_for(pilot, lambda: app.focused is table, what="the runs table to take keys")
        await pilot.press("enter")
        run = await screen_named(pilot, "RunScreen")
        assert run.run_id == table.order[0]


async def test_slash_on_the_task_log_tab_searches_the_log(seeded_ws: Path) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.open_task("demo/hello")
        screen = await screen_named(pilot, "TaskScreen")
        await pilot.press("f")  # the Log tab, the newest run
        log = screen.query_one(LogView)
        await wait_for(pilot, lambda: log.run_id == IDS["hello"] and log.settled, what="log")
        await pilot.press("slash", *"step 2", "enter")
        await wait_for(pilot, lambda: log.mark_seq == 4, what="the match")
        assert type(app.screen).__name__ == "TaskScreen"  # `n` did not open a New form
        await pilot.press("escape")
        assert app.focused is log


async def test_the_history_filter_error_goes_once_the_filter_reads(seeded_ws: Path) -> None:
    from textual.widgets import Static

    from tests.tui.conftest import plain

    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "4", "HistoryScreen")
        status = screen.query_one("#history-status", Static)
        await pilot.press("slash", *"bogus:1", "enter")
        await wait_for(pilot, lambda: "use project:" in plain(status), what="the error")
        box = screen.query_one("#filter", Input)
        box.value = "status:failed"
        await wait_for(pilot, lambda: "use project:" not in plain(status), what="no error")
        await pilot.press("enter")
        table = screen.query_one(RunTable)
        await wait_for(
            pilot,
            lambda: table.runs and {r.status for r in table.runs.values()} == {"failed"},
            what="the failed runs",
        )
        assert "use project:" not in plain(status)
