"""The footer, help and the keys that did nothing or too much (issue 20): every key in
the footer whole, help that scrolls at 80×24, confirmations for bulk work, and a word for
a key that does not apply."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from textual.containers import VerticalScroll
from textual.widgets import DataTable
from textual.widgets._footer import FooterKey

from duftui.schedule.lease import acquire, process_identity
from duftui.store.db import Store
from duftui.tui.screens.confirm import ConfirmScreen
from duftui.tui.screens.help import HelpScreen
from duftui.tui.widgets.key_footer import KeyFooter
from duftui.tui.widgets.run_table import RunTable
from tests.tui.conftest import make_app, wait_for, wait_settled
from tests.tui.helpers import capture_notifications, cursor_to, go, run_rows, screen_named
from tests.tui.seed import IDS

pytestmark = pytest.mark.anyio


def footer_keys(app: Any) -> list[tuple[str, str]]:
    footer = app.screen.query_one(KeyFooter)
    return [
        (k.key, k.description) for k in footer.query(FooterKey)
        if not k.has_class("-command-palette")
    ]


async def footer_settled(pilot: Any) -> list[tuple[str, str]]:
    await wait_settled(pilot)
    await wait_for(pilot, lambda: footer_keys(pilot.app), what="the footer")
    await pilot.pause()
    return footer_keys(pilot.app)


async def test_footer_shows_whole_keys_in_order_and_the_rest_at_160(seeded_ws: Path) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await go(pilot, "2", "ProjectsScreen")
        keys = dict(await footer_settled(pilot))
        assert {"enter", "C", "T", "r", "e", "n"} <= set(keys)
        footer = screen.query_one(KeyFooter)
        assert sum(k.outer_size.width for k in footer.query(FooterKey)) <= 80
        await go(pilot, "3", "TasksScreen")
        keys = dict(await footer_settled(pilot))
        assert {"enter", "r", "slash", "m", "e", "n", "s"} <= set(keys)
        assert app.screen.query_one(KeyFooter).hidden_keys  # the rest waits for ? and ^p
        await go(pilot, "1", "DashboardScreen")
        keys = dict(await footer_settled(pilot))
        assert keys["q"] == "Quit"
        await pilot.resize_terminal(160, 48)
        await go(pilot, "3", "TasksScreen")
        await wait_for(pilot, lambda: not app.screen.query_one(KeyFooter).hidden_keys, what="all")
        keys = dict(await footer_settled(pilot))
        assert {"T", "h", "delete", "d", "s"} <= set(keys)
        assert keys["delete"] == "Delete"


async def test_every_key_of_a_screen_is_in_the_command_palette(seeded_ws: Path) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=(80, 24)) as pilot:
        for number, name in (("2", "ProjectsScreen"), ("3", "TasksScreen"), ("4", "HistoryScreen")):
            screen = await go(pilot, number, name)
            titles = " ".join(c.title for c in app.get_system_commands(screen))
            for active in screen.active_bindings.values():
                binding = active.binding
                if binding.description and active.enabled and binding.show:
                    assert (binding.tooltip or binding.description) in titles, binding


async def test_help_scrolls_to_its_last_line_at_80x24(seeded_ws: Path) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await go(pilot, "3", "TasksScreen")
        await pilot.press("question_mark")
        help_screen = await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        scroll = app.screen.query_one(VerticalScroll)
        assert help_screen
        assert scroll.region.bottom <= 24
        assert scroll.max_scroll_y > 0  # more keys than rows: it scrolls
        await pilot.press("end")
        await wait_for(pilot, lambda: scroll.scroll_y == scroll.max_scroll_y, what="the end")


async def test_bulk_retry_asks_and_then_clears_the_selection(seeded_ws: Path) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await go(pilot, "4", "HistoryScreen")
        table = screen.query_one(RunTable)
        await cursor_to(pilot, table, IDS["hello-1"])
        await pilot.press("space", "space")
        assert len(table.marked) == 2
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="a question")
        assert "Retry 2 runs" in app.screen.question
        await pilot.press("y")
        await wait_for(
            pilot, lambda: len(run_rows(seeded_ws, "trigger = 'retry'")) == 3, what="2 retries"
        )
        assert not table.marked  # a second t does not retry them again


async def test_running_a_project_asks_first(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await go(pilot, "2", "ProjectsScreen")
        await cursor_to(pilot, screen.query_one(DataTable), "pipeline")
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="a question")
        assert "Run project pipeline" in app.screen.question
        await pilot.press("n")
        await screen_named(pilot, "ProjectsScreen")
        assert run_rows(console_ws) == []


async def test_keys_that_do_not_apply_say_why(seeded_ws: Path) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_settled(pilot)
        seen = capture_notifications(app)
        app.open_run(IDS["hello"])
        await screen_named(pilot, "RunScreen")
        await pilot.press("c")
        await wait_for(pilot, lambda: seen, what="a word about c")
        assert "nothing to cancel" in seen[-1] and "succeeded" in seen[-1]
        store = Store(seeded_ws / ".duftui" / "state.db")
        with store.write() as conn:
            acquire(conn, holder=process_identity(), pid=os.getpid())
        store.close()
        await go(pilot, "1", "DashboardScreen")
        await wait_for(pilot, lambda: app.daemon and app.daemon.status == "running")
        await pilot.press("D")
        await wait_for(pilot, lambda: len(seen) >= 2, what="a word about D")
        assert "already running" in seen[-1]


async def test_A_acknowledges_every_dead_run_after_asking(seeded_ws: Path) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await go(pilot, "4", "HistoryScreen")
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="a question")
        assert "Acknowledge all 1 dead run" in app.screen.question
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: run_rows(seeded_ws, "id = :r", r=IDS["dead"])[0]["acknowledged_at"],
            what="the dead run acknowledged",
        )
        seen = capture_notifications(app)
        await pilot.press("A")
        await wait_for(pilot, lambda: any("no dead runs" in s for s in seen), what="nothing left")
