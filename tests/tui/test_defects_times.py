"""Times on screen (issue 20): the zone is named, a schedule's fires are shown on its own
clock too, relative times move on, and dead / acknowledged / waiting-retry runs read
apart even when a narrow column cuts them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from textual.widgets import DataTable, Static

from duftui.store.db import Store
from duftui.store.runs import insert_run
from duftui.tui import format as fmt
from duftui.tui.widgets.run_table import RunTable
from tests.tui.conftest import make_app, plain, wait_for, wait_settled
from tests.tui.helpers import go, screen_named
from tests.tui.seed import FIXED_NOW, IDS

pytestmark = pytest.mark.anyio
SIZE = (80, 24)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def cell(table: DataTable[Any], row: str, column: str) -> str:
    from rich.text import Text

    value = table.get_cell(row, column)
    return value.plain if isinstance(value, Text) else Text.from_markup(str(value)).plain


async def test_the_top_bar_names_the_zone_and_fires_show_their_own_clock(
    seeded_ws: Path,
) -> None:
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        assert "times UTC" in plain(app.screen.query_one("#top-bar", Static))
        fires = app.screen.query_one("#fires", DataTable)
        # demo/heartbeat has a cron at 06:30 Europe/Amsterdam: 05:30 here in winter.
        shown = [str(fires.get_row(row.key)[0]) for row in fires.ordered_rows]
        assert "Tue 05:30 (06:30 CET)" in shown
        app.open_task("demo/heartbeat")
        screen = await screen_named(pilot, "TaskScreen")
        overview = plain(screen.query_one("#overview", Static), width=160)
        assert "(06:30 Europe/Amsterdam)" in overview


def test_a_fire_on_the_consoles_own_clock_names_no_second_zone() -> None:
    at = datetime(2026, 3, 3, 5, 30, tzinfo=UTC)
    assert fmt.in_own_zone(at, "UTC", UTC) == ""
    assert fmt.in_own_zone(at, None, UTC) == ""
    assert fmt.in_own_zone(at, "Europe/Amsterdam", UTC, short=True) == "06:30 CET"


async def test_relative_times_and_running_durations_move_on(seeded_ws: Path) -> None:
    clock = Clock(FIXED_NOW)
    app = make_app(seeded_ws, frozen=True)
    app.session.clock = clock
    async with app.run_test(size=SIZE) as pilot:
        tasks = await go(pilot, "3", "TasksScreen")
        table = tasks.query_one(DataTable)
        assert cell(table, "demo/hello", "when") == "59m ago"  # it ended 59m ago
        clock.now = FIXED_NOW + timedelta(hours=2)
        await wait_for(
            pilot, lambda: cell(table, "demo/hello", "when") == "2h ago", what="a tick on Tasks"
        )
        history = await go(pilot, "4", "HistoryScreen")
        runs = history.query_one(RunTable)
        took = cell(runs, str(IDS["heartbeat"]), "took")
        clock.now += timedelta(minutes=5)
        await wait_for(
            pilot,
            lambda: cell(runs, str(IDS["heartbeat"]), "took") not in ("", took),
            what="History's took to move on",
        )


async def test_a_cancelled_run_counts_from_when_it_ended(seeded_ws: Path) -> None:
    store = Store(seeded_ws / ".duftui" / "state.db")
    with store.write() as conn:
        run_id = insert_run(conn, task_key="demo/greet", trigger="manual")
        conn.execute(
            text(
                "UPDATE run SET status = 'cancelled', queued_at = :q, started_at = :q, "
                "finished_at = :f WHERE id = :r"
            ),
            {
                "q": (FIXED_NOW - timedelta(seconds=30)).isoformat(timespec="microseconds"),
                "f": (FIXED_NOW - timedelta(seconds=5)).isoformat(timespec="microseconds"),
                "r": run_id,
            },
        )
    store.close()
    clock = Clock(FIXED_NOW)
    app = make_app(seeded_ws, frozen=True)
    app.session.clock = clock
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        app.open_task("demo/greet")
        screen = await screen_named(pilot, "TaskScreen")
        summary = screen.query_one("#task-summary", Static)
        await wait_for(pilot, lambda: "cancelled 5s ago" in plain(summary), what="5s ago")
        clock.now = FIXED_NOW + timedelta(seconds=60)
        await wait_for(pilot, lambda: "cancelled 1m ago" in plain(summary), what="1m ago")


async def test_dead_acked_and_waiting_retry_runs_differ_in_their_first_cells(
    seeded_ws: Path,
) -> None:
    store = Store(seeded_ws / ".duftui" / "state.db")
    with store.write() as conn:
        conn.execute(
            text("UPDATE run SET not_before = :t WHERE id = :r"),
            {"t": "2026-03-02T10:05:00.000000+00:00", "r": IDS["flaky-retry"]},
        )
    store.close()
    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        history = await go(pilot, "4", "HistoryScreen")
        runs = history.query_one(RunTable)
        dead = cell(runs, str(IDS["dead"]), "status")
        retry = cell(runs, str(IDS["flaky-retry"]), "status")
        failed = cell(runs, str(IDS["flaky"]), "status")
        assert retry.startswith("↻ retry 10:05")  # with its time
        assert dead.startswith("☠ dead")
        assert failed.startswith("✗ failed")
        store = Store(seeded_ws / ".duftui" / "state.db")
        with store.write() as conn:
            conn.execute(
                text("UPDATE run SET acknowledged_at = :t WHERE id = :r"),
                {"t": FIXED_NOW.isoformat(timespec="microseconds"), "r": IDS["dead"]},
            )
        store.close()
        history.reload()
        await wait_for(
            pilot, lambda: cell(runs, str(IDS["dead"]), "status").startswith("☑ acked"),
            what="the acknowledged mark",
        )
        firsts = {s[:3] for s in (cell(runs, str(IDS["dead"]), "status"), retry, dead, failed)}
        assert len(firsts) == 4  # a 3-cell column still tells all four apart
