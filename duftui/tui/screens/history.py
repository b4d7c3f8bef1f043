"""History: every run, newest first, paged by keyset so a million runs open instantly;
filters, sorting by any column (`o`, `O` or a click on the header), multi-select with bulk
retry and cancel, and CSV export of the current filter."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from duftui.store.dashboard import Pulse, runs_by_id
from duftui.store.export import export_csv
from duftui.store.run_order import SORTABLE, RunOrder
from duftui.store.runs import RunFilter, count_runs, list_runs
from duftui.store.tables import Run
from duftui.tui.format import escape
from duftui.tui.history_filter import FilterError, describe, parse_filter
from duftui.tui.screens.base import ACK_ALL_KEY, NAV_KEYS, RUN_KEYS, ConsoleScreen, key
from duftui.tui.widgets.key_footer import KeyFooter
from duftui.tui.widgets.run_table import RunTable
from duftui.tui.widgets.top_bar import TopBar

PAGE = 100
PREFETCH = 40  # rows before the end of what is loaded at which the next page loads


@dataclass
class Page:
    runs: list[Run]
    append: bool
    flt: RunFilter
    order: RunOrder


class HistoryScreen(ConsoleScreen):
    """space marks runs; t / c then act on all marked runs; ctrl+e exports the filter."""

    TITLE = "History"
    BINDINGS: ClassVar[list[BindingType]] = [
        *NAV_KEYS,
        key(
            "slash",
            "focus_filter",
            "Filter",
            "Filter runs: project: task: status: trigger: since: until:",
            "filter",
        ),
        key(
            "space", "mark", "Select", "Select or unselect the run (bulk retry / cancel)", "select"
        ),
        RUN_KEYS[3],
        RUN_KEYS[2],
        RUN_KEYS[4],
        RUN_KEYS[5],
        ACK_ALL_KEY,
        key("ctrl+e", "export", "Export", "Export the runs of the current filter to CSV", "export"),
        key("o", "sort_next", "Sort", "Sort by the next column (or click a column header)", "sort"),
        key("O", "sort_flip", "Reverse", "Reverse the sort direction", "sort-reverse", show=False),
        RUN_KEYS[0],
        RUN_KEYS[1],
        Binding("escape", "clear", show=False),
    ]

    def __init__(self, initial_filter: str = "") -> None:
        super().__init__()
        self.initial_filter = initial_filter
        self.flt = RunFilter()
        self.order = RunOrder()
        self.unsorted_new = False  # runs were queued since a non-default sort was loaded
        self.exhausted = False
        self.loading_more = False
        self.total: int | None = None
        self.filter_error: str | None = None  # shown until the filter reads again

    def compose(self) -> ComposeResult:
        yield TopBar(self.TITLE)
        yield Input(
            self.initial_filter,
            id="filter",
            placeholder="/ filter: project:demo status:failed trigger:manual since:7d",
        )
        yield Static("", id="history-status")
        yield RunTable(
            ("id", "status", "task", "queued", "took", "trigger", "by", "error"),
            markable=True,
            id="history",
        )
        yield Static(
            "No runs yet — open Tasks (3) and press r to run one.",
            classes="empty",
            id="history-empty",
        )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(RunTable).focus()
        self._parse()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """A running run's `took` moves on without a query."""
        self.query_one(RunTable).tick(self.session.now())

    # -- loading ---------------------------------------------------------------------------

    def _parse(self) -> bool:
        text = self.query_one("#filter", Input).value
        try:
            self.flt = parse_filter(text, self.session.now(), self.session.tz)
        except FilterError as exc:
            self.filter_error = str(exc)
            self._status()
            return False
        self.filter_error = None
        return True

    def reload(self) -> None:
        """The first page of the current filter (and, lazily, the count)."""
        store, flt, order = self.session.store(), self.flt, self.order
        self.exhausted = False
        self.total = None
        self.unsorted_new = False

        def query() -> Page:
            with store.read() as conn:
                return Page(list_runs(conn, flt, limit=PAGE, order=order), False, flt, order)

        self.load(query, self._page, group="history")

    def _count(self) -> None:
        store, flt = self.session.store(), self.flt

        def query() -> tuple[RunFilter, int]:
            with store.read() as conn:
                return flt, count_runs(conn, flt)

        self.load(query, self._counted, group="history-count")

    def _counted(self, result: tuple[RunFilter, int]) -> None:
        if result[0] is self.flt:
            self.total = result[1]
            self._status()

    def _more(self) -> None:
        table = self.query_one(RunTable)
        if self.exhausted or self.loading_more or not table.order:
            return
        last = table.order[-1]
        store, flt, order = self.session.store(), self.flt, self.order
        self.loading_more = True

        def query() -> Page:
            with store.read() as conn:
                runs = list_runs(conn, flt, limit=PAGE, order=order, after=last)
                return Page(runs, True, flt, order)

        self.load(query, self._page, group="history-more")

    def _page(self, page: Page) -> None:
        if page.flt is not self.flt or page.order is not self.order:
            return
        table = self.query_one(RunTable)
        table.now, table.tz = self.session.now(), self.session.tz
        if page.append:
            self.loading_more = False
        table.set_runs(page.runs, append=page.append)
        if len(page.runs) < PAGE:
            self.exhausted = True
        if not page.append and self.total is None:
            if self.exhausted:
                self.total = len(table.order)
            else:
                self._count()
        empty = not table.order
        self.query_one("#history-empty").display = empty
        table.display = not empty
        self._status()
        self.refresh_bindings()

    def on_pulse(self, pulse: Pulse, previous: Pulse | None) -> None:
        """New runs go on top; rows whose run changed are patched in place."""
        if previous is None or not pulse.runs_changed(previous):
            return
        table = self.query_one(RunTable)
        if not table.order:
            self.reload()
            return
        if not self.order.is_default:
            # A sorted list is not re-sorted under the cursor: rows are patched in place
            # and new runs are counted; `o`/`O` or a filter edit shows them in order.
            self._live_sorted(pulse, previous, table)
            return
        newest = table.runs[table.order[0]]
        changed = set(previous.active_by_id) | set(pulse.active_by_id)
        if pulse.max_audit_id != previous.max_audit_id:
            changed |= set(table.order[:1000])
        watch = [rid for rid in changed if rid in table.runs]
        store, flt = self.session.store(), self.flt
        shown_max = max(table.order[:50], default=0)

        def query() -> tuple[list[Run], dict[int, Run]]:
            with store.read() as conn:
                fresh: list[Run] = []
                if pulse.max_run_id > shown_max:
                    since = max(filter(None, [flt.since, newest.queued_at]))
                    newer = replace(flt, since=since)
                    fresh = [
                        r
                        for r in list_runs(conn, newer, limit=PAGE)
                        if int(r.id or 0) not in table.runs
                    ]
                return fresh, runs_by_id(conn, watch)

        self.load(query, self._live, group="history-live")

    def _live_sorted(self, pulse: Pulse, previous: Pulse, table: RunTable) -> None:
        watch = [rid for rid in set(previous.active_by_id) | set(pulse.active_by_id)
                 if rid in table.runs]
        if pulse.max_audit_id != previous.max_audit_id:
            watch = list(set(watch) | set(table.order[:1000]))
        store = self.session.store()

        def query() -> tuple[list[Run], dict[int, Run]]:
            with store.read() as conn:
                return [], runs_by_id(conn, watch)

        if pulse.max_run_id > previous.max_run_id and not self.unsorted_new:
            self.unsorted_new = True
            self._status()
        self.load(query, self._live, group="history-live")

    def _live(self, result: tuple[list[Run], dict[int, Run]]) -> None:
        fresh, updated = result
        table = self.query_one(RunTable)
        table.now = self.session.now()
        if updated:
            table.update_runs(list(updated.values()))
        if fresh:
            runs = fresh + [table.runs[k] for k in table.order]
            table.set_runs(runs)
            if self.total is not None:
                self.total += len(fresh)
            self._status()

    def _status(self, message: str | None = None) -> None:
        if message is None and self.filter_error:
            message = f"[red]{escape(self.filter_error)}[/red]"
        if message is None:
            table = self.query_one(RunTable)
            shown = len(table.order)
            total = (
                "counting…"
                if self.total is None
                else f"{self.total:,} run{'s' if self.total != 1 else ''}"
            )
            message = f"{total} · showing {shown:,}"
            if not self.order.is_default:
                message += f" · sorted by {self.order.describe()}"
                if self.unsorted_new:
                    message += " · new runs since sorted: O twice includes them"
            if table.marked:
                message += f" · [b]{len(table.marked)} selected[/b] (t retry, c cancel)"
            elif shown:
                message += " · space selects"
        self.query_one("#history-status", Static).update(message)

    # -- selection and keys ----------------------------------------------------------------

    def selected_runs(self) -> list[Run]:
        return self.query_one(RunTable).selected()

    def clear_selection(self) -> None:
        table = self.query_one(RunTable)
        if table.marked:
            table.clear_marks()
            self._status()
            self.refresh_bindings()

    def selected_task(self) -> str | None:
        run = self.query_one(RunTable).cursor_run()
        return run.task_key if run and run.task_key in self.session.catalogue().tasks else None

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = self.query_one(RunTable)
        if event.cursor_row >= len(table.order) - PREFETCH:
            self._more()
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        self.console.open_run(int(str(event.row_key.value)))

    @on(Input.Changed, "#filter")
    def _filter_edited(self, event: Input.Changed) -> None:
        """An error goes as soon as the words read again (enter still applies them)."""
        if self.filter_error is None:
            return
        try:
            parse_filter(event.value, self.session.now(), self.session.tz)
        except FilterError:
            return
        self.filter_error = None
        self._status()

    @on(Input.Submitted, "#filter")
    def _filter(self) -> None:
        if self._parse():
            self.query_one(RunTable).clear_marks()
            self.reload()
            self.query_one(RunTable).focus()

    # -- sorting -------------------------------------------------------------------------

    def sort_by(self, order: RunOrder) -> None:
        """Show the runs of the current filter in `order`, from the first page."""
        self.order = order
        self.query_one(RunTable).set_sort_mark(order.column, order.descending)
        self.reload()

    def action_sort_next(self) -> None:
        self.sort_by(self.order.next_column())

    def action_sort_flip(self) -> None:
        self.sort_by(self.order.flipped())

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = str(event.column_key.value)
        if column not in SORTABLE:
            self._status(f"runs cannot be sorted by {column}")
            return
        if column == self.order.column:
            self.sort_by(self.order.flipped())
        else:
            self.sort_by(RunOrder.first(column))

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_clear(self) -> None:
        table = self.query_one(RunTable)
        if table.marked:
            table.clear_marks()
            self._status()
        table.focus()

    def action_mark(self) -> None:
        table = self.query_one(RunTable)
        table.action_toggle_mark()
        self._status()

    def action_export(self) -> None:
        from duftui.tui.screens.export import ExportScreen

        now = self.session.now().astimezone(self.session.tz)
        name = f"runs-{now:%Y%m%d-%H%M%S}.csv"
        flt = self.flt
        summary = f"Exports {describe(flt)}" + (f" ({self.total:,} runs)" if self.total else "")
        self.app.push_screen(
            ExportScreen(self.session.workspace, name, summary),
            lambda path: self._export(path, flt) if path else None,
        )

    def _export(self, path: Path, flt: RunFilter) -> None:
        store = self.session.store()
        shown = self.session.relative(path)
        self.notify(f"exporting to {shown}…", timeout=3)

        def job() -> None:
            started = datetime.now()
            tmp = path.with_name(path.name + ".part")
            with open(tmp, "w", encoding="utf-8", newline="") as out:
                count = export_csv(store, out, flt)
            tmp.replace(path)
            took = (datetime.now() - started).total_seconds()
            self.app.call_from_thread(
                self.notify, f"exported {count:,} runs to {shown} in {took:.1f}s", title="Export"
            )

        self.run_worker(job, thread=True, group="export", exit_on_error=False)
