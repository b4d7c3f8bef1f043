"""Live updates from other processes: runs started elsewhere appear within a second, logs
follow as they grow, and the daemon's lease decides who runs the console's work."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from duftui.engine.identity import process_identity
from duftui.schedule.lease import acquire
from duftui.store.db import Store
from duftui.tui.widgets.log_view import LogView
from duftui.tui.widgets.run_table import RunTable
from tests.conftest import python_env
from tests.tui.conftest import make_app, wait_for, wait_settled
from tests.tui.helpers import cursor_to, go, run_rows, screen_named

pytestmark = pytest.mark.anyio
SIZE = (80, 24)


def duftui_process(workspace: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "duftui", "--workspace", str(workspace), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=python_env(),
        start_new_session=True,
    )


async def test_a_run_started_by_another_process_appears_with_its_log(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        running = app.screen.query_one("#running", RunTable)
        cli = duftui_process(console_ws, "run", "demo/slow", "-p", "ticks=200")
        try:
            rows = await wait_for(
                pilot,
                lambda: run_rows(console_ws, "status = 'running'"),
                timeout=30,
                what="the CLI's run to start",
            )
            seen_in_store = time.monotonic()
            run_id = rows[0]["id"]
            await wait_for(pilot, lambda: run_id in running.runs, what="the run on screen")
            assert time.monotonic() - seen_in_store < 1.0
            assert not app.runner.active  # the CLI runs it, not the console
            app.open_run(run_id)
            screen = await screen_named(pilot, "RunScreen")
            log = screen.query_one(LogView)
            await wait_for(pilot, lambda: log.total >= 5, what="log lines")
            first = log.total
            await wait_for(pilot, lambda: log.total >= first + 5, what="more lines as it grows")
            assert log.follow
            await wait_for(
                pilot,
                lambda: (
                    log.settled
                    and any(
                        (line := log._blocks.line(seq)) is not None
                        and line.text.startswith("tick ")
                        for seq in log._visible_seqs()
                    )
                ),
                what="the newest lines on screen",
            )
            await wait_for(
                pilot,
                lambda: screen.run is not None and screen.run.status == "succeeded",
                timeout=60,
                what="the run to end",
            )
            # 200 ticks (10 s: still running however slow the machine is while the run
            # screen opens), a last line and the end event
            await wait_for(pilot, lambda: log.total >= 202, what="every line of the run")
        finally:
            cli.wait(timeout=60)
    assert cli.returncode == 0, cli.stderr


async def test_the_daemon_status_follows_its_lease(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        await wait_settled(pilot)
        assert app.daemon is not None and app.daemon.status == "not running"
        store = Store(console_ws / ".duftui" / "state.db")
        try:
            with store.write() as conn:
                acquire(conn, holder=process_identity(), pid=os.getpid())
            await wait_for(pilot, lambda: app.daemon.status == "running", what="running")
            assert not app.screen.query_one("#daemon-banner").display
            with store.write() as conn:
                conn.exec_driver_sql(
                    "UPDATE lease SET heartbeat_at = '2020-01-01T00:00:00.000000+00:00'"
                )
            await wait_for(pilot, lambda: app.daemon.status == "stale", what="stale")
            assert app.screen.query_one("#daemon-banner").display
        finally:
            store.close()


async def test_with_a_live_daemon_the_console_only_queues(console_ws: Path) -> None:
    store = Store(console_ws / ".duftui" / "state.db")
    with store.write() as conn:
        acquire(conn, holder=process_identity(), pid=os.getpid())
    store.close()
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "3", "TasksScreen")
        await wait_for(pilot, lambda: app.daemon and app.daemon.status == "running")
        from textual.widgets import DataTable

        await cursor_to(pilot, screen.query_one(DataTable), "demo/hello")
        await pilot.press("r")
        await wait_for(pilot, lambda: run_rows(console_ws), what="the queued run")
        await pilot.pause(0.3)
        assert not app.runner.active
        assert run_rows(console_ws)[0]["status"] == "queued"


async def test_runs_queued_by_the_cli_show_up_in_history_and_get_run(console_ws: Path) -> None:
    app = make_app(console_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "4", "HistoryScreen")
        assert "No runs yet" in str(screen.query_one("#history-empty").render())
        for _ in range(3):
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "duftui",
                    "--workspace",
                    str(console_ws),
                    "run",
                    "--detach",
                    "demo/hello",
                ],
                check=True,
                env=python_env(),
                capture_output=True,
                timeout=60,
            )
        table = screen.query_one(RunTable)
        await wait_for(pilot, lambda: len(table.order) == 3, what="three new rows")
        assert table.order == sorted(table.order, reverse=True)
        # Nobody else will run them (no daemon): the console adopts them.
        await wait_for(
            pilot,
            lambda: all(r.status == "succeeded" for r in table.runs.values()),
            timeout=30,
            what="the console to run them",
        )
