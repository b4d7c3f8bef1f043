"""Shortcuts for console tests: move to a screen or row, read the store directly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import text
from textual.pilot import Pilot
from textual.widgets import DataTable

from duftui.store.db import Store
from tests.tui.conftest import wait_for, wait_settled


def query(workspace: Path, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Read the workspace's state file with a connection of our own."""
    store = Store(workspace / ".duftui" / "state.db")
    try:
        with store.read() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        store.close()


def run_rows(workspace: Path, where: str = "1=1", **params: Any) -> list[dict[str, Any]]:
    store = Store(workspace / ".duftui" / "state.db")
    try:
        with store.read() as conn:
            rows = conn.execute(text(f"SELECT * FROM run WHERE {where} ORDER BY id"), params)
            return [dict(row._mapping) for row in rows]
    finally:
        store.close()


def audit_rows(workspace: Path) -> list[tuple[str, str, str, dict[str, Any]]]:
    rows = query(workspace, "SELECT user, action, target, detail FROM audit ORDER BY id")
    return [(u, a, t, json.loads(d or "{}")) for u, a, t, d in rows]


async def screen_named(pilot: Pilot[Any], name: str) -> Any:
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == name, what=name)
    await wait_settled(pilot)
    return pilot.app.screen


async def go(pilot: Pilot[Any], key: str, name: str) -> Any:
    """Press a key that switches screens and wait for the screen to settle."""
    await pilot.press(key)
    return await screen_named(pilot, name)


async def cursor_to(pilot: Pilot[Any], table: DataTable[Any], row_key: str | int) -> None:
    """Put a table's cursor on the row with `row_key` (rows may still be loading)."""
    wanted = str(row_key)
    await wait_for(
        pilot, lambda: wanted in [str(k.value) for k in table.rows], what=f"row {wanted}"
    )
    table.move_cursor(row=table.get_row_index(wanted), animate=False)
    await pilot.pause()


def capture_notifications(app: Any) -> list[str]:
    """Record every notification the app shows from now on (they expire on screen)."""
    seen: list[str] = []
    original = app.notify

    def notify(message: str, *args: Any, **kwargs: Any) -> None:
        seen.append(str(message))
        original(message, *args, **kwargs)

    app.notify = notify
    return seen
