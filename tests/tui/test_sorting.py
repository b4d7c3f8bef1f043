"""Sorting History and Tasks by any column: `o` cycles the column, `O` reverses it, a click
on a header sorts by that column (again: reverses); the header shows the arrow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from duftui import locations
from duftui.store.db import Store
from duftui.store.runs import list_runs
from duftui.tui.screens.tasks import sort_value
from duftui.tui.widgets.run_table import RunTable
from tests.store.test_run_order import python_key
from tests.tui.conftest import make_app, table_keys, wait_for
from tests.tui.helpers import go

pytestmark = pytest.mark.anyio
SIZE = (120, 30)


def all_runs(workspace: Path) -> list[Any]:
    store = Store(locations.state_db(workspace), create=False)
    try:
        with store.read() as conn:
            return list_runs(conn, limit=10_000)
    finally:
        store.close()


def expected_ids(workspace: Path, column: str, descending: bool) -> list[int]:
    runs = sorted(all_runs(workspace), key=lambda r: (python_key(column, r), r.id),
                  reverse=descending)
    return [int(r.id) for r in runs]


def header_labels(table: DataTable[Any]) -> dict[str, str]:
    return {str(key.value): col.label.plain for key, col in table.columns.items()}


async def click_header(pilot: Any, table: DataTable[Any], column: str) -> None:
    x = 0
    for key, col in table.columns.items():
        if key.value == column:
            await pilot.click(table, offset=(x + 1, 0))
            return
        x += col.get_render_width(table)
    raise AssertionError(f"no column {column}")


async def test_history_sorts_by_any_column_and_pages_in_that_order(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "4", "HistoryScreen")
        table = screen.query_one(RunTable)
        newest = expected_ids(seeded_ws, "queued", True)
        await wait_for(pilot, lambda: table.order == newest, what="newest first")
        await pilot.press("o")  # queued → took, longest first
        want = expected_ids(seeded_ws, "took", True)
        assert want != newest
        await wait_for(pilot, lambda: table.order == want, what="longest first")
        assert header_labels(table)["took"] == "took ↓"
        assert header_labels(table)["queued"] == "queued"
        assert "sorted by took ↓" in str(screen.query_one("#history-status").render())
        await pilot.press("O")
        want = expected_ids(seeded_ws, "took", False)
        await wait_for(pilot, lambda: table.order == want, what="shortest first")
        assert header_labels(table)["took"] == "took ↑"
        await click_header(pilot, table, "task")
        want = expected_ids(seeded_ws, "task", False)
        await wait_for(pilot, lambda: table.order == want, what="task A to Z")
        await click_header(pilot, table, "task")
        want = expected_ids(seeded_ws, "task", True)
        await wait_for(pilot, lambda: table.order == want, what="task Z to A")
        assert header_labels(table)["task"] == "task ↓"


async def test_tasks_sort_by_any_column(seeded_ws: Path) -> None:
    app = make_app(seeded_ws)
    async with app.run_test(size=SIZE) as pilot:
        screen = await go(pilot, "3", "TasksScreen")
        table = screen.query_one(DataTable)
        by_key = sorted(table_keys(table))
        await wait_for(pilot, lambda: table_keys(table) == by_key and screen.data.latest,
                       what="tasks by key")
        catalogue = screen.session.catalogue()

        def ordered(column: str, descending: bool) -> list[str]:
            entries = [catalogue.tasks[k] for k in by_key]
            have = [e for e in entries
                    if sort_value(column, e, screen.data.latest.get(e.key))[0] == 0]
            lack = [e for e in entries if e not in have]
            have.sort(key=lambda e: sort_value(column, e, screen.data.latest.get(e.key))[1],
                      reverse=descending)
            return [e.key for e in have + lack]

        await pilot.press("O")
        assert table_keys(table) == by_key[::-1]
        await pilot.press("o")  # task → last run's status, A to Z
        assert table_keys(table) == ordered("last", False) != by_key
        assert header_labels(table)["last"] == "last run ↑"
        await pilot.press("o")  # → when, most recent first; tasks never run go last
        want = ordered("when", True)
        assert table_keys(table) == want
        never = [k for k in by_key if k not in screen.data.latest]
        assert never and want[-len(never):] == never
        await click_header(pilot, table, "kind")
        assert table_keys(table) == ordered("kind", False)
        assert "sorted by kind ↑" in str(screen.query_one("#scope").render())
