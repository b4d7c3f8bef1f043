"""Each screen opens, shows what it should, and leads to the next one (80×24)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Static, TabbedContent

from duftui.tui.widgets.log_view import LogView
from duftui.tui.widgets.run_table import RunTable
from tests.tui.conftest import (
    make_app,
    plain,
    table_keys,
    table_text,
    wait_for,
    wait_settled,
)
from tests.tui.helpers import capture_notifications, cursor_to, go, screen_named
from tests.tui.seed import IDS

pytestmark = pytest.mark.anyio
SIZE = (80, 24)


async def test_dashboard_shows_running_fires_attention_and_rates(seeded_ws: Path) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        screen = app.screen
        assert type(screen).__name__ == "DashboardScreen"
        running = screen.query_one("#running", RunTable)
        assert IDS["heartbeat"] in running.runs and IDS["flaky-retry"] in running.runs
        assert running.get_row(str(IDS["heartbeat"]))[2] == "35s"  # elapsed at pinned now
        attention = screen.query_one("#attention", RunTable)
        assert set(attention.runs) == {IDS["dead"], IDS["flaky-retry"]}
        fires = table_text(screen.query_one("#fires", DataTable))
        assert "clinic/daily-visits" in fires and "pipeline" in fires
        rates = table_text(screen.query_one("#rates", DataTable))
        assert "demo | 50% 1/2 | 88% 7/8" in rates
        assert "No daemon" in str(screen.query_one("#daemon-banner", Static).render())


async def test_dashboard_empty_states_say_what_to_do(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        text = str(app.screen.query_one("#running-empty", Static).render())
        assert "press 3" in text.lower() and "r to run" in text


async def test_number_keys_switch_between_the_main_screens(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        for key, name in (
            ("2", "ProjectsScreen"),
            ("3", "TasksScreen"),
            ("4", "HistoryScreen"),
            ("1", "DashboardScreen"),
        ):
            await go(pilot, key, name)


async def test_projects_lead_to_their_tasks(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "2", "ProjectsScreen")
        table = screen.query_one(DataTable)
        assert table_keys(table) == ["clinic", "demo", "pipeline"]
        assert "1 broken" in table_text(table)
        await cursor_to(pilot, table, "pipeline")
        await pilot.press("enter")
        tasks = await screen_named(pilot, "TasksScreen")
        assert table_keys(tasks.query_one(DataTable)) == [
            "pipeline/extract",
            "pipeline/report",
            "pipeline/transform",
        ]


async def test_tasks_show_broken_definitions_with_their_error(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "3", "TasksScreen")
        row = [
            getattr(c, "plain", str(c)) for c in screen.query_one(DataTable).get_row("demo/broken")
        ]
        assert "BROKEN" in row[1]
        assert "tasks/demo/broken.toml:4: run.kind" in row[5]
        await cursor_to(pilot, screen.query_one(DataTable), "demo/broken")
        seen = capture_notifications(app)
        app.screen.action_run()  # not offered in the footer; refused if asked anyway
        await wait_for(pilot, lambda: seen, what="a notification")
        assert "definition errors" in seen[0]


async def test_tasks_list_problems_of_files_that_are_no_task(seeded_ws: Path) -> None:
    demo = seeded_ws / "tasks" / "demo"
    (demo / "Bad Name.toml").write_text((demo / "hello.toml").read_text())
    (demo / "group").mkdir()
    (demo / "group" / "hello.toml").write_text((demo / "hello.toml").read_text())
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "3", "TasksScreen")
        box = screen.query_one("#not-loaded", Static)
        await wait_for(pilot, lambda: box.display, what="the problems box")
        text = plain(box)
        assert "2 definition problems outside the tasks below" in text
        assert "tasks/demo/Bad Name.toml: task key 'Bad Name' is not valid" in text
        assert "tasks/demo/group/hello.toml: duplicate task key 'hello'" in text
        (demo / "Bad Name.toml").unlink()
        (demo / "group" / "hello.toml").unlink()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not box.display, what="the problems box to go")


async def test_hidden_tasks_are_behind_a_toggle(seeded_ws: Path) -> None:
    toml = seeded_ws / "tasks" / "demo" / "hello.toml"
    toml.write_text(
        toml.read_text().replace('name = "Hello world"', 'name = "Hello world"\nhidden = true')
    )
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "3", "TasksScreen")
        table = screen.query_one(DataTable)
        assert "demo/hello" not in table_keys(table)
        await pilot.press("h")
        assert "demo/hello" in table_keys(table)


async def test_task_screen_shows_definition_params_schedules_runs_and_outputs(
    seeded_ws: Path,
) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.open_task("clinic/daily-visits")
        screen = await screen_named(pilot, "TaskScreen")
        overview = plain(screen.query_one("#overview", Static))
        assert "2026-03-01" in overview  # day = parse(%Y-%m-%d-1) at the pinned now
        assert "visits_20260302.csv" in overview
        assert "cron 0 15 6 * * *" in overview and "06:15" in overview
        runs = screen.query_one("#task-runs", RunTable)
        assert list(runs.runs) == [IDS["visits"]]
        outputs = table_text(screen.query_one("#task-outputs", DataTable))
        assert ".duftui/runs/" in outputs and "9e107d9d372bb6826bd81d3542a419d6" in outputs
        assert str(seeded_ws) not in outputs  # paths are shown relative to the workspace
        screen.query_one(TabbedContent).active = "tab-runs"
        runs.focus()
        await wait_for(pilot, lambda: runs.has_focus, what="the runs table focused")
        await pilot.press("enter")
        run_screen = await screen_named(pilot, "RunScreen")
        assert run_screen.run_id == IDS["visits"]


async def test_run_screen_shows_timings_resources_and_outputs(seeded_ws: Path) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.open_run(IDS["visits"])
        screen = await screen_named(pilot, "RunScreen")
        summary = plain(screen.query_one("#run-summary", Static))
        for part in ("succeeded", "took 2.5s", "exit 0", "cpu 0.5s", "mem 30.0 MiB"):
            assert part in summary
        outputs = table_text(screen.query_one("#outputs", DataTable))
        assert "47.1 KiB" in outputs and "e4d909c290d0fb1ca068ffaddf22cbd0" in outputs
        details = plain(screen.query_one("#details", Static))
        assert "etl01" in details and "logical time" in details


async def test_run_log_level_filter_search_and_first_error(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.open_run(IDS["flaky"])
        screen = await screen_named(pilot, "RunScreen")
        log = screen.query_one(LogView)
        assert log.total == 5 and log.has_focus
        await pilot.press("l", "l")  # all -> info+ -> warning+
        await wait_for(pilot, lambda: log.settled and log.rows == 3, what="warning+ lines")
        await pilot.press("l", "l")  # error+ -> all
        await wait_for(pilot, lambda: log.rows == 5, what="all lines again")
        await pilot.press("exclamation_mark")
        await wait_for(pilot, lambda: log.mark_seq == 4, what="the first error")
        assert not log.follow
        await pilot.press("slash")
        await pilot.press(*"upstream", "enter")
        await wait_for(pilot, lambda: log.mark_seq == 2, what="a match after the error")
        await pilot.press("escape")
        assert log.has_focus
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: log.mark_seq == 3, what="the next match")
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: log.mark_seq == 4, what="the match after that")
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: log.mark_seq == 3, what="the previous match")


async def test_history_opens_on_the_newest_runs_and_counts_lazily(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "4", "HistoryScreen")
        table = screen.query_one(RunTable)
        assert table.order[0] == IDS["heartbeat"]
        await wait_for(pilot, lambda: screen.total == 13, what="the count")
        assert "13 runs" in str(screen.query_one("#history-status").render())


async def test_history_filter_errors_are_shown_not_raised(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "4", "HistoryScreen")
        await pilot.press("slash", *"status:broken", "enter")
        status = str(screen.query_one("#history-status").render())
        assert "status 'broken'" in status and "succeeded" in status
        await pilot.press("ctrl+u", *"demo/hello since:2026-02-27", "enter")
        await wait_for(
            pilot,
            lambda: (
                screen.query_one(RunTable).runs
                and all(
                    r.task_key == "demo/hello" for r in screen.query_one(RunTable).runs.values()
                )
            ),
            what="the filtered rows",
        )


async def test_background_errors_become_notifications(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        seen = capture_notifications(app)

        def broken() -> None:
            raise RuntimeError("the disk is on fire")

        app.screen.load(broken, lambda _: None, group="test")
        await wait_for(pilot, lambda: seen, what="a notification")
        assert "the disk is on fire" in seen[0]
        assert app.is_running


async def test_palette_offers_every_key_of_the_screen(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        await go(pilot, "3", "TasksScreen")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for wanted in (
            "Run the selected task (or project) now (r)",
            "Run the selected task with parameters (R)",
            "Edit the selected definition (e)",
            "Show every key of this screen (?)",
            "Start the daemon",
        ):
            assert wanted in titles, titles
