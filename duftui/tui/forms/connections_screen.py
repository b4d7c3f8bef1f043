"""Connections: every named connection of connections.toml, where it points, which tasks
use it, and its problems; `e` edits one, `n` adds one, `delete` moves it to the trash."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import DataTable, Static

from duftui.definitions.connection_edit import connection_users
from duftui.store.dashboard import Pulse
from duftui.tui.screens.base import EDIT_KEYS, NAV_KEYS, ConsoleScreen, key
from duftui.tui.widgets.key_footer import KeyFooter
from duftui.tui.widgets.top_bar import TopBar


def where(connection: Any) -> str:
    """Where a connection points: host:port, a path or a URL (never a password)."""
    host = getattr(connection, "host", None)
    if host:
        port = getattr(connection, "port", None)
        return f"{host}:{port}" if port else str(host)
    for field in ("path", "url"):
        value = getattr(connection, field, None)
        if value:
            return str(value).split("@")[-1] if field == "url" else str(value)
    params = getattr(connection, "params", None)
    return f"{len(params)} DUFT parameters" if params else ""


class ConnectionsScreen(ConsoleScreen):
    """The connections of the workspace; the definition keys act on the selected one."""

    TITLE = "Connections"
    EDITS = True
    EDIT_TARGET = "connection"
    BINDINGS: ClassVar[list[BindingType]] = [
        *NAV_KEYS,
        *[k for k in EDIT_KEYS if k.id in ("edit", "new", "delete")],
        key("T", "app.open_trash", "Trash", "Deleted definitions, to restore", "trash", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield TopBar("Connections")
        yield DataTable(id="connections", cursor_type="row")
        yield Static(
            "No connections yet: press n to add one (they live in connections.toml).",
            classes="empty",
            id="connections-empty",
        )
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in ("name", "type", "where", "used by", "description"):
            table.add_column(column, key=column)
        table.focus()

    def on_pulse(self, pulse: Pulse, previous: Pulse | None) -> None:
        """Runs do not change connections."""

    def reload(self) -> None:
        catalogue = self.session.catalogue()
        self.load(lambda: catalogue, self._show, group="connections")

    def _show(self, catalogue: Any) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        names = sorted({*catalogue.connections, *catalogue.broken_connections})
        for name in names:
            connection = catalogue.connections.get(name)
            users = connection_users(catalogue, name)
            if connection is None:
                problem = catalogue.broken_connections[name][0]
                kind, place = Text("✗ broken", style="bold red"), ""
                description = Text(str(problem), style="red")
            else:
                kind, place = Text(str(connection.type)), where(connection)
                description = Text(connection.description)
            table.add_row(
                Text(name, style="bold"),
                kind,
                place,
                Text(f"{len(users)} task{'s' if len(users) != 1 else ''}" if users else "—"),
                description,
                key=name,
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)
        self.query_one("#connections-empty").display = not names
        table.display = bool(names)
        self.refresh_bindings()

    def selected_connection(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count or not table.display:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _open(self) -> None:
        self.action_edit("edit")
