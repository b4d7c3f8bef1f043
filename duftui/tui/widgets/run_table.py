"""A table of runs that updates in place, keeps its cursor, and supports marking rows."""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.text import Text

from duftui.store.tables import Run
from duftui.tui import format as fmt
from duftui.tui.widgets.open_table import OpenTable

COLUMNS = {
    "mark": " ",
    "id": "run",
    "task": "task",
    "status": "status",
    "trigger": "trigger",
    "queued": "queued",
    "started": "started",
    "took": "took",
    "attempt": "try",
    "by": "by",
    "error": "error",
}


class RunTable(OpenTable):
    """Rows keyed by run id; `set_runs` replaces the rows, `update_runs` patches them."""

    def __init__(
        self, columns: tuple[str, ...], *, markable: bool = False, id: str | None = None
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.markable = markable
        self.names = (("mark",) if markable else ()) + columns
        self.runs: dict[int, Run] = {}
        self.order: list[int] = []
        self.marked: set[int] = set()
        self.now = datetime.now().astimezone()
        self.tz: tzinfo = self.now.tzinfo  # type: ignore[assignment]

    def on_mount(self) -> None:
        for name in self.names:
            self.add_column(COLUMNS[name], key=name)

    def cells(self, run: Run) -> list[str | Text]:
        out: list[str | Text] = []
        for name in self.names:
            if name == "mark":
                out.append(Text("●", style="bold cyan") if run.id in self.marked else " ")
            elif name == "id":
                out.append(f"#{run.id}")
            elif name == "task":
                out.append(Text(run.task_key))
            elif name == "status":
                out.append(fmt.run_status(run, self.tz, self.now))
            elif name == "trigger":
                out.append(Text(run.trigger))
            elif name == "queued":
                out.append(fmt.when(run.queued_at, self.tz, self.now))
            elif name == "started":
                out.append(fmt.when(run.started_at, self.tz, self.now))
            elif name == "took":
                out.append(fmt.elapsed(run, self.now))
            elif name == "attempt":
                out.append(f"{run.attempt}/{run.max_attempts}")
            elif name == "by":
                out.append(Text(run.requested_by or "—"))
            elif name == "error":
                out.append(Text(fmt.first_line(run.error, 80), style="red"))
        return out

    def set_runs(self, runs: list[Run], *, append: bool = False) -> None:
        """Show exactly `runs` (or add them after the current rows), keeping the cursor."""
        if append:
            fresh = [r for r in runs if int(r.id or 0) not in self.runs]
            for run in fresh:
                key = int(run.id or 0)
                self.runs[key] = run
                self.order.append(key)
                self.add_row(*self.cells(run), key=str(key))
            return
        ids = [int(r.id or 0) for r in runs]
        if ids == self.order:
            self.update_runs(runs)
            return
        current = self.cursor_run()
        self.clear()
        self.runs = {int(r.id or 0): r for r in runs}
        self.order = ids
        self.marked &= set(ids)
        self.add_rows_keyed(runs)
        if current is not None and current.id in self.runs:
            self.move_cursor(row=self.order.index(int(current.id or 0)), animate=False)

    def add_rows_keyed(self, runs: list[Run]) -> None:
        for run in runs:
            self.add_row(*self.cells(run), key=str(run.id))

    def update_runs(self, runs: list[Run]) -> None:
        """Patch the cells of rows that changed (status, times) without a rebuild."""
        for run in runs:
            key = int(run.id or 0)
            old = self.runs.get(key)
            if key not in self.runs:
                continue
            self.runs[key] = run
            if old == run and "took" not in self.names:
                continue
            for name, value in zip(self.names, self.cells(run), strict=True):
                self.update_cell(str(key), name, value)

    def tick(self, now: datetime) -> None:
        """Advance the clock: only running rows' elapsed times change."""
        self.now = now
        if "took" in self.names:
            for key, run in self.runs.items():
                if run.status == "running":
                    self.update_cell(str(key), "took", fmt.elapsed(run, now))

    def cursor_run(self) -> Run | None:
        if not self.order or self.cursor_row < 0 or self.cursor_row >= len(self.order):
            return None
        return self.runs.get(self.order[self.cursor_row])

    def selected(self) -> list[Run]:
        """Marked rows if any, else the row under the cursor."""
        if self.marked:
            return [self.runs[k] for k in self.order if k in self.marked]
        run = self.cursor_run()
        return [run] if run is not None else []

    def clear_marks(self) -> None:
        marked, self.marked = self.marked, set()
        for key in marked:
            if key in self.runs:
                self.update_cell(str(key), "mark", " ")

    def action_toggle_mark(self) -> None:
        run = self.cursor_run()
        if not self.markable or run is None:
            return
        key = int(run.id or 0)
        self.marked.symmetric_difference_update({key})
        self.update_cell(str(key), "mark", self.cells(run)[0])
        if self.cursor_row < len(self.order) - 1:
            self.move_cursor(row=self.cursor_row + 1, animate=False)
        self.screen.refresh_bindings()
