"""The console application: wires screens, bindings and styles."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header

from duftui.context import Context
from duftui.store.runs import last_runs_by_task


class DuftuiApp(App[None]):
    """Lists every task with its last status."""

    TITLE = "duftui"
    BINDINGS = [Binding("q", "quit", "Quit", id="quit")]

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="tasks", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        catalogue = self.ctx.catalogue()
        self.sub_title = str(self.ctx.workspace)
        with self.ctx.store().read() as conn:
            last = last_runs_by_task(conn)
        table = self.query_one(DataTable)
        table.add_columns("Task", "Name", "Kind", "Enabled", "Last")
        for key, entry in catalogue.tasks.items():
            spec = entry.spec
            run = last.get(key)
            status = "BROKEN" if entry.broken else (run.status if run else "-")
            table.add_row(key, entry.title, spec.run.kind if spec else "?",
                          "yes" if spec and spec.enabled else "no", status, key=key)
