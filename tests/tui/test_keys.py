"""Every key of DESIGN §8, pressed in a real console on a real store (80×24)."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, TabbedContent

from duftui.store.audit import current_user
from duftui.tui.screens.confirm import ConfirmScreen
from duftui.tui.screens.export import ExportScreen
from duftui.tui.screens.help import HelpScreen
from duftui.tui.screens.params import ParamsScreen
from duftui.tui.screens.quit import QuitScreen
from duftui.tui.widgets.log_view import LogView
from duftui.tui.widgets.run_table import RunTable
from tests.tui.conftest import make_app, table_keys, wait_for, wait_settled
from tests.tui.helpers import (
    audit_rows,
    capture_notifications,
    cursor_to,
    go,
    run_rows,
    screen_named,
)
from tests.tui.seed import IDS

pytestmark = pytest.mark.anyio
SIZE = (80, 24)


async def on_task_row(pilot, key: str) -> None:  # type: ignore[no-untyped-def]
    screen = await go(pilot, "3", "TasksScreen")
    await cursor_to(pilot, screen.query_one(DataTable), key)


def finished(workspace: Path, task: str) -> list[dict]:  # type: ignore[type-arg]
    return [
        r
        for r in run_rows(workspace, "task_key = :t", t=task)
        if r["status"] not in ("queued", "running")
    ]


async def test_r_runs_the_selected_task_and_writes_the_audit(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        seen = capture_notifications(app)
        await on_task_row(pilot, "demo/hello")
        await pilot.press("r")
        await wait_for(pilot, lambda: finished(console_ws, "demo/hello"), what="the run to end")
        run = finished(console_ws, "demo/hello")[0]
        assert run["status"] == "succeeded"
        assert run["trigger"] == "manual"
        assert run["requested_by"] == current_user()
        assert app.runner.active  # no daemon: the console ran it itself
        assert any("queued run #" in message for message in seen)
        table = app.screen.query_one(DataTable)
        await wait_for(
            pilot,
            lambda: "succeeded" in str(table.get_row("demo/hello")[1]),
            what="the Tasks screen to show the outcome",
        )
    assert "run" in [a for _, a, _, _ in audit_rows(console_ws)]
    user, action, target, detail = audit_rows(console_ws)[0]
    assert (user, action, target) == (current_user(), "run", "demo/hello")
    assert detail["run_id"] == run["id"]


async def test_r_on_a_project_queues_the_whole_project(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "2", "ProjectsScreen")
        await cursor_to(pilot, screen.query_one(DataTable), "pipeline")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: run_rows(console_ws), what="a queued run")
    rows = run_rows(console_ws)
    assert rows[0]["task_key"] == "pipeline/extract"
    assert audit_rows(console_ws)[0][1:3] == ("run", "pipeline")


async def test_R_asks_for_parameters_and_runs_with_them(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.open_task("demo/greet")
        await screen_named(pilot, "TaskScreen")
        await pilot.press("R")
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen) and app.screen)
        assert dialog.query_one("#param-who", Input).value == "world"
        assert not dialog.query("#param-day")  # neither prompt nor allow_override
        dialog.query_one("#param-who", Input).value = "Ada"
        await pilot.press("enter")
        await wait_for(pilot, lambda: finished(console_ws, "demo/greet"), what="the run")
        run = finished(console_ws, "demo/greet")[0]
    assert run["status"] == "succeeded"
    assert '"who": "Ada"' in run["params"]


async def test_r_on_a_task_with_prompt_params_asks_first(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        await on_task_row(pilot, "demo/greet")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen), what="the dialog")
        await pilot.press("escape")
        await screen_named(pilot, "TasksScreen")
    assert run_rows(console_ws) == []


async def test_R_refuses_a_bad_value_inside_the_dialog(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.open_task("demo/greet")
        await screen_named(pilot, "TaskScreen")
        await pilot.press("R")
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen) and app.screen)
        dialog.query_one("#param-times", Input).value = "many"
        await pilot.click("#run")
        await wait_for(
            pilot,
            lambda: "expected int" in str(dialog.query_one("#params-error").render()),
            what="the error in the dialog",
        )
        assert isinstance(app.screen, ParamsScreen)
    assert run_rows(console_ws) == []


async def test_c_asks_for_confirmation_then_cancels(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await on_task_row(pilot, "demo/slow")
        await pilot.press("r")
        rows = await wait_for(
            pilot, lambda: run_rows(console_ws, "status = 'running'"), what="the run to start"
        )
        app.open_run(rows[0]["id"])
        await screen_named(pilot, "RunScreen")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("n")
        await screen_named(pilot, "RunScreen")
        assert run_rows(console_ws)[0]["status"] == "running"
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: run_rows(console_ws)[0]["status"] == "cancelled",
            what="the run to end cancelled",
        )
        await wait_for(
            pilot,
            lambda: "cancelled" in str(app.screen.query_one("#run-summary").render()),
            what="the Run screen to show it",
        )
    assert ("cancel", "demo/slow") in [(a, t) for _, a, t, _ in audit_rows(console_ws)]


async def test_t_retries_a_finished_run(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "4", "HistoryScreen")
        await cursor_to(pilot, screen.query_one(RunTable), IDS["hello"])
        await pilot.press("t")
        retry = await wait_for(
            pilot, lambda: run_rows(seeded_ws, "retry_of = :r", r=IDS["hello"]), what="the retry"
        )
        table = screen.query_one(RunTable)
        await wait_for(
            pilot, lambda: retry[0]["id"] in table.runs, what="History to show the new run on top"
        )
    assert retry[0]["trigger"] == "retry"
    assert ("retry", "demo/hello") in [(a, t) for _, a, t, _ in audit_rows(seeded_ws)]


async def test_x_cancels_the_waiting_retry(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "4", "HistoryScreen")
        await cursor_to(pilot, screen.query_one(RunTable), IDS["flaky"])
        await pilot.press("x")
        await wait_for(
            pilot,
            lambda: (
                run_rows(seeded_ws, "id = :i", i=IDS["flaky-retry"])[0]["status"] == "cancelled"
            ),
            what="the retry to be cancelled",
        )
        table = screen.query_one(RunTable)
        await wait_for(
            pilot,
            lambda: table.runs[IDS["flaky-retry"]].status == "cancelled",
            what="History to update the row in place",
        )
    assert ("cancel_retry", "demo/flaky") in [(a, t) for _, a, t, _ in audit_rows(seeded_ws)]


async def test_a_acknowledges_a_dead_run_on_the_dashboard(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        table = app.screen.query_one("#attention", RunTable)
        table.focus()
        await wait_for(pilot, lambda: table.has_focus, what="the table focused")
        await cursor_to(pilot, table, IDS["dead"])
        await pilot.press("a")
        await wait_for(
            pilot, lambda: IDS["dead"] not in table.runs, what="the dead run to leave the list"
        )
    row = run_rows(seeded_ws, "id = :i", i=IDS["dead"])[0]
    assert row["acknowledged_by"] == current_user()
    assert ("acknowledge", "pipeline/extract") in [(a, t) for _, a, t, _ in audit_rows(seeded_ws)]


@pytest.mark.parametrize(
    ("key", "opens"),
    [
        ("e", "TaskForm"),
        ("n", "TaskForm"),
        ("s", "RescheduleForm"),
        ("delete", "ConfirmScreen"),
        ("d", None),
    ],
)
async def test_editing_keys_open_the_forms(console_ws: Path, key: str, opens: str | None) -> None:
    """The definition keys (tests/tui/test_forms*.py follow each one to the file)."""
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await on_task_row(pilot, "demo/hello")
        seen = capture_notifications(app)
        await pilot.press(key)
        if opens is not None:
            await wait_for(pilot, lambda: type(app.screen).__name__ == opens, what=opens)
        else:  # duplicate: no form, a disabled copy and a notification
            await wait_for(pilot, lambda: seen, what="a notification")
            assert "tasks/demo/hello-copy.toml" in seen[0]


async def test_f_follows_the_log(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.open_task("demo/hello")
        screen = await screen_named(pilot, "TaskScreen")
        await pilot.press("f")
        log = screen.query_one(LogView)
        assert screen.query_one(TabbedContent).active == "tab-log"
        assert log.follow and log.has_focus
        await pilot.press("up")
        assert not log.follow
        await pilot.press("f")
        assert log.follow


async def test_slash_filters_tasks_as_you_type(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "3", "TasksScreen")
        table = screen.query_one(DataTable)
        await pilot.press("slash")
        assert screen.query_one("#filter", Input).has_focus
        await pilot.press("s", "l", "o", "w")
        assert table_keys(table) == ["demo/slow"]
        await pilot.press(*["backspace"] * 4, "number_sign", "p", "a")
        await pilot.press("r", "a", "m", "s")
        assert table_keys(table) == ["demo/greet"]
        await pilot.press("escape")
        assert "demo/hello" in table_keys(table) and table.has_focus
        await pilot.press("m")  # mine: no example task has an owner
        assert not table.display
        assert "No tasks match" in str(screen.query_one("#tasks-empty").render())


async def test_slash_filters_history_and_ctrl_e_exports_it(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "4", "HistoryScreen")
        table = screen.query_one(RunTable)
        await pilot.press("slash")
        screen.query_one("#filter", Input).value = "status:failed"
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: sorted(table.order) == sorted([IDS["flaky"], IDS["dead"]]),
            what="only failed runs",
        )
        await pilot.press("ctrl+e")
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen) and app.screen)
        dialog.query_one(Input).value = "failed.csv"
        await pilot.press("enter")
        target = seeded_ws / "failed.csv"
        await wait_for(pilot, target.exists, what="the export file")
    with open(target, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(int(r["run_id"]) for r in rows) == sorted([IDS["flaky"], IDS["dead"]])


async def test_question_mark_lists_the_keys_of_the_screen(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.open_run(IDS["flaky"])
        await screen_named(pilot, "RunScreen")
        await pilot.press("question_mark")
        help_screen = await wait_for(
            pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen
        )
        text = str(help_screen._keys().columns[1]._cells)
        for words in ("Follow", "Search", "Retry", "Help", "Back"):
            assert words in text
        await pilot.press("escape")
        await screen_named(pilot, "RunScreen")


async def test_q_goes_back_then_quits(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        await go(pilot, "3", "TasksScreen")
        await pilot.press("enter")
        await screen_named(pilot, "TaskScreen")
        await pilot.press("q")
        await screen_named(pilot, "TasksScreen")
        await pilot.press("q")
        await screen_named(pilot, "DashboardScreen")
        await pilot.press("q")
        await wait_for(pilot, lambda: app._exit, what="the app to quit")


async def test_quitting_with_a_running_embedded_run_asks_and_can_cancel(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await on_task_row(pilot, "demo/slow")
        await pilot.press("r")
        await wait_for(pilot, lambda: app.runner.running_ids, what="the run to start")
        await pilot.press("1")
        await screen_named(pilot, "DashboardScreen")
        await pilot.press("q")
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen) and app.screen)
        assert dialog.running == 1
        await pilot.press("c")
        await wait_for(pilot, lambda: app._exit, timeout=20, what="the app to quit")
    row = run_rows(console_ws)[0]
    assert row["status"] == "cancelled"
    assert "console that ran it was closed" in row["error"]
    assert ("cancel", "demo/slow") in [(a, t) for _, a, t, _ in audit_rows(console_ws)]


async def test_quitting_can_wait_for_the_embedded_run(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.open_task("demo/slow")
        await screen_named(pilot, "TaskScreen")
        await pilot.press("R")
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen) and app.screen)
        dialog.query_one("#param-ticks", Input).value = "30"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.runner.running_ids, what="the run to start")
        app.action_back()
        await screen_named(pilot, "DashboardScreen")
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen), what="the question")
        await pilot.press("w")
        await wait_for(pilot, lambda: app._exit, timeout=30, what="the app to quit")
    assert run_rows(console_ws)[0]["status"] == "succeeded"


async def test_quitting_can_leave_the_run_to_finish_in_the_background(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.open_task("demo/slow")
        await screen_named(pilot, "TaskScreen")
        await pilot.press("R")
        dialog = await wait_for(pilot, lambda: isinstance(app.screen, ParamsScreen) and app.screen)
        dialog.query_one("#param-ticks", Input).value = "40"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.runner.running_ids, what="the run to start")
        app.action_back()
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen), what="the question")
        await pilot.press("l")
        await wait_for(pilot, lambda: app._exit, what="the app to quit")
    assert run_rows(console_ws)[0]["status"] == "running"  # the console is gone, the run is not
    deadline = time.monotonic() + 30
    while run_rows(console_ws)[0]["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run_rows(console_ws)[0]["status"] == "succeeded"


async def test_space_selects_runs_for_a_bulk_retry(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "4", "HistoryScreen")
        table = screen.query_one(RunTable)
        await cursor_to(pilot, table, IDS["hello-1"])
        await pilot.press("space")
        await cursor_to(pilot, table, IDS["hello-2"])
        await pilot.press("space")
        assert table.marked == {IDS["hello-1"], IDS["hello-2"]}
        assert "2 selected" in str(screen.query_one("#history-status").render())
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: (
                len(
                    run_rows(
                        seeded_ws,
                        "trigger = 'retry' AND retry_of IN (:a, :b)",
                        a=IDS["hello-1"],
                        b=IDS["hello-2"],
                    )
                )
                == 2
            ),
            what="two retries",
        )


async def test_ctrl_t_switches_between_dark_and_light(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        before = app.theme
        await pilot.press("ctrl+t")
        assert app.theme != before and "light" in app.theme + before
        await pilot.press("ctrl+t")
        assert app.theme == before
