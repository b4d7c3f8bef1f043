"""Console test helpers: an app factory on a private workspace, deterministic history,
and waiting on state (never on time)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from duftui.context import Context
from duftui.store.db import Store
from duftui.tui.app import DuftuiApp, create_app
from duftui.tui.screens.base import ConsoleScreen
from duftui.tui.widgets.log_view import LogView
from tests.tui.seed import FIXED_NOW, seed_history

DATA = Path(__file__).resolve().parent / "data"
BUSY_GROUPS = {"watcher", "supervisor"}  # long-lived workers that never "finish"


def make_app(workspace: Path, *, frozen: bool = False, **options: Any) -> DuftuiApp:
    """The real app on `workspace`; `frozen` pins the clock and the time zone (snapshots)."""
    options.setdefault("watch_interval", 0.05)
    options.setdefault("runner_poll", 0.05)
    ctx = Context.create(workspace)
    if frozen:  # a picture, not a live system: never start runs of its own
        return create_app(ctx, clock=FIXED_NOW, tz=UTC, run_queued=False, **options)
    return create_app(ctx, **options)


async def wait_for(
    pilot: Pilot[Any],
    predicate: Callable[[], object],
    timeout: float = 15.0,
    what: str = "condition",
) -> Any:
    """Let the app run until `predicate()` is truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.02)


def idle(app: DuftuiApp) -> bool:
    """No short-lived worker is running (loads, fetches, actions)."""
    return not any(w.is_running and w.group not in BUSY_GROUPS for w in app.workers)


def settled(app: DuftuiApp) -> bool:
    """The current screen has loaded, seen the store's pulse, and every log pane is filled."""
    screen = app.screen
    if isinstance(screen, ConsoleScreen):
        if not screen.ready or app.pulse is None or screen._seen is not app.pulse:
            return False
    for log in screen.query(LogView):
        if log.display and log.run_id is not None and not log.settled:
            return False
    return idle(app)


async def wait_settled(pilot: Pilot[Any], timeout: float = 15.0) -> None:
    await wait_for(pilot, lambda: settled(pilot.app), timeout, "the screen to settle")  # type: ignore[arg-type]
    await pilot.pause()
    await wait_for(pilot, lambda: settled(pilot.app), timeout, "the screen to settle")  # type: ignore[arg-type]


def plain(widget: Any, width: int = 200) -> str:
    """What a Static shows, as plain text (Rich renderables included)."""
    from rich.console import Console

    console = Console(width=width, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(widget.content)
    return console.export_text()


def table_keys(table: DataTable[Any]) -> list[str]:
    return [str(row.value) for row in table.rows]


def table_text(table: DataTable[Any]) -> str:
    """Every cell of a table as plain text (for assertions)."""
    lines = []
    for row_key in table.rows:
        cells = table.get_row(row_key)
        lines.append(" | ".join(getattr(c, "plain", str(c)) for c in cells))
    return "\n".join(lines)


@pytest.fixture
def anyio_backend() -> str:
    """Pilot tests run on asyncio, like the console itself."""
    return "asyncio"


@pytest.fixture
def console_ws(tmp_path: Path) -> Path:
    """A private copy of the frozen console workspace (examples, a slow task, a broken one).

    It is always called `ws`, so the name the top bar shows is the same on every machine."""
    target = tmp_path / "ws"
    shutil.copytree(DATA / "ws", target, ignore=shutil.ignore_patterns("__pycache__", ".duftui"))
    return target


@pytest.fixture
def seeded_ws(console_ws: Path) -> Iterator[Path]:
    """The console workspace with a fixed, known history in its state file."""
    store = Store(console_ws / ".duftui" / "state.db")
    try:
        seed_history(store, console_ws)
    finally:
        store.close()
    yield console_ws
