"""Trash: the deleted tasks and connections kept under `.duftui/trash/`, newest first;
`r` (or enter) puts the selected one back where it was."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import DataTable, Static

from duftui.definitions.editing import TrashEntry, list_trash, restore
from duftui.store.dashboard import Pulse
from duftui.tui import format as fmt
from duftui.tui.forms.actions import in_thread, saved
from duftui.tui.screens.base import NAV_KEYS, ConsoleScreen, key
from duftui.tui.widgets.key_footer import KeyFooter
from duftui.tui.widgets.top_bar import TopBar


class TrashScreen(ConsoleScreen):
    """Deleted definitions; restoring one refuses to replace a definition that exists."""

    TITLE = "Trash"
    BINDINGS: ClassVar[list[BindingType]] = [
        *NAV_KEYS,
        key("r", "restore", "Restore", "Put the selected definition back where it was", "restore"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, TrashEntry] = {}

    def compose(self) -> ComposeResult:
        yield TopBar("Trash")
        yield Static(
            "Deleted tasks and connections (.duftui/trash/). r or enter restores one.",
            id="scope",
        )
        yield DataTable(id="trash", cursor_type="row")
        yield Static(
            "The trash is empty: deleted tasks and connections appear here.",
            classes="empty",
            id="trash-empty",
        )
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in ("deleted", "kind", "what", "from", "by"):
            table.add_column(column, key=column)
        table.focus()

    def on_pulse(self, pulse: Pulse, previous: Pulse | None) -> None:
        """Runs do not change the trash."""

    def reload(self) -> None:
        root = self.session.workspace
        self.load(lambda: list_trash(root), self._show, group="trash")

    def _show(self, entries: list[TrashEntry]) -> None:
        self.entries = {entry.id: entry for entry in entries}
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        tz = self.session.tz
        for entry in entries:
            table.add_row(
                fmt.stamp(entry.deleted_at, tz) if entry.deleted_at else "?",
                entry.kind,
                Text(entry.target, style="bold"),
                entry.original,
                entry.deleted_by,
                key=entry.id,
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)
        self.query_one("#trash-empty").display = not entries
        table.display = bool(entries)
        self.refresh_bindings()

    def selected_entry(self) -> TrashEntry | None:
        table = self.query_one(DataTable)
        if not table.row_count or not table.display:
            return None
        row = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.entries.get(str(row))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "restore":
            return self.selected_entry() is not None
        return super().check_action(action, parameters)

    def action_restore(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        session, app = self.session, self.console

        def done(result: object) -> None:
            saved(app, result, "restored")  # type: ignore[arg-type]
            self.reload()

        in_thread(
            app,
            "Restore",
            lambda: restore(session.workspace, entry, user=session.user, store=session.store()),
            done,
        )

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_restore()
