"""Defects of the log pane found in the second pass (issue 20): the level filter, the
timestamps, search on the task's Log tab."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from duftui.store.db import Store
from duftui.store.logs import OpenChunk, write_chunks
from duftui.store.runs import insert_run
from duftui.store.states import Level
from duftui.tui.widgets.log_view import LogView
from tests.tui.conftest import make_app, wait_for, wait_settled
from tests.tui.helpers import screen_named

pytestmark = pytest.mark.anyio
SIZE = (80, 24)
LINES = 200_000
T0 = 1_772_445_600.0  # 2026-03-02 10:00 UTC


def big_run(workspace: Path, lines: int = LINES, task: str = "demo/hello") -> int:
    """A finished run of `lines` lines (a warning every 50th): one chunk copied by SQL."""
    store = Store(workspace / ".duftui" / "state.db")
    try:
        with store.write() as conn:
            run_id = insert_run(conn, task_key=task, trigger="manual")
            conn.execute(
                text(
                    "UPDATE run SET status = 'succeeded', started_at = queued_at, "
                    "finished_at = queued_at, log_lines = :n WHERE id = :r"
                ),
                {"r": run_id, "n": lines},
            )
            chunk = OpenChunk(run_id, 1)
            for i in range(500):
                level = Level.WARNING if i % 50 == 49 else Level.INFO
                chunk.add(T0 + i, "stdout", level, f"line {i} of a long log")
            write_chunks(conn, [chunk])
            conn.execute(
                text(
                    "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k "
                    "WHERE n < :copies) INSERT INTO log_chunk (run_id, first_seq, line_count, "
                    "first_ts, last_ts, max_level, lines) SELECT run_id, first_seq + n * 500, "
                    "line_count, first_ts, last_ts, max_level, lines FROM log_chunk, k "
                    "WHERE run_id = :r AND first_seq = 1"
                ),
                {"r": run_id, "copies": lines // 500 - 1},
            )
    finally:
        store.close()
    return run_id


async def open_run_log(pilot, run_id: int) -> LogView:  # type: ignore[no-untyped-def]
    await wait_settled(pilot)
    pilot.app.open_run(run_id)
    screen = await screen_named(pilot, "RunScreen")
    return screen.query_one(LogView)


async def test_pressing_l_twice_during_a_scan_finishes_the_new_level(console_ws: Path) -> None:
    run_id = big_run(console_ws)
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        log = await open_run_log(pilot, run_id)
        # Two presses in one go: the second arrives while the info+ scan is under way.
        log.action_cycle_level()
        log.action_cycle_level()
        assert log.level == Level.WARNING
        await wait_for(
            pilot,
            lambda: log._index is not None and log._index.scanned_to >= LINES and log.settled,
            timeout=60,
            what="the warning+ scan to finish",
        )
        assert log.rows == LINES // 50
        assert "…" not in str(log.border_title)


async def test_timestamps_appear_when_the_pane_grows_to_100_columns(seeded_ws: Path) -> None:
    from tests.tui.seed import IDS

    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        log = await open_run_log(pilot, IDS["hello"])
        await wait_for(pilot, lambda: log.settled and log.total == 7, what="the log")
        assert "09:00:00" not in log.render_line(0).text  # no room for times at 80 columns
        await pilot.resize_terminal(160, 48)
        await wait_for(pilot, lambda: log.size.width >= 100, what="the wider pane")
        await wait_settled(pilot)
        assert "09:00:00" in log.render_line(0).text


async def test_keys_that_change_no_binding_leave_the_footer_alone(seeded_ws: Path) -> None:
    """Rebuilding the footer on every key was most of the console's time during a flood."""
    from duftui.tui.widgets.key_footer import KeyFooter
    from tests.tui.seed import IDS

    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        log = await open_run_log(pilot, IDS["hello"])
        footer = app.screen.query_one(KeyFooter)
        await pilot.pause()
        keys = list(footer.children)
        for _ in range(4):
            before = log.follow
            await pilot.press("f")
            await wait_for(pilot, lambda before=before: log.follow != before, what="f")
            app.screen.refresh_bindings()  # as every reload of the screen does
        await wait_settled(pilot)
        await pilot.pause()
        assert list(footer.children) == keys  # the same widgets: no recompose


async def test_plain_lines_draw_the_same_by_the_fast_path(seeded_ws: Path) -> None:
    from duftui.store.logs import LogLine
    from tests.tui.seed import IDS

    app = make_app(seeded_ws, frozen=True)
    async with app.run_test(size=(160, 48)) as pilot:
        log = await open_run_log(pilot, IDS["hello"])
        line = LogLine(3, T0, "stdout", Level.WARNING, "a plain warning line")
        fast = log._render(line, log.rich_style)
        log.needle = "zzz"  # a search forces Rich's path
        slow = log._render(line, log.rich_style)
        assert fast.text == slow.text and fast.cell_length == slow.cell_length
        assert "10:00:00" in fast.text
