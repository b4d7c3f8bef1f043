"""Task: definition summary, resolved parameters, schedules with next fires, run history,
the live log of its latest run, and its output files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane

from duftui.store.dashboard import Pulse, TaskOutput, schedule_marks, task_outputs
from duftui.store.runs import RunFilter, list_runs
from duftui.store.states import RunStatus
from duftui.store.tables import Run
from duftui.tui import format as fmt
from duftui.tui.screens.base import EDIT_KEYS, NAV_KEYS, RUN_KEYS, TAB_KEYS, key
from duftui.tui.screens.log_keys import SEARCH_KEY, LogSearchKeys
from duftui.tui.widgets.key_footer import KeyFooter
from duftui.tui.widgets.log_view import LogView
from duftui.tui.widgets.run_details import output_cells
from duftui.tui.widgets.run_table import RunTable
from duftui.tui.widgets.task_overview import task_overview
from duftui.tui.widgets.top_bar import TopBar

HISTORY = 200


@dataclass
class TaskData:
    runs: list[Run] = field(default_factory=list)
    outputs: list[TaskOutput] = field(default_factory=list)
    overview: RenderableType = ""


class TaskScreen(LogSearchKeys):
    """One task. r runs it; enter on a run opens it; the Log tab follows its newest run."""

    TITLE = "Task"
    EDITS = True
    BINDINGS: ClassVar[list[BindingType]] = [
        *NAV_KEYS,
        *RUN_KEYS,
        key("f", "follow", "Follow", "Show the newest run's log and follow it", "follow"),
        SEARCH_KEY,
        *TAB_KEYS,
        *EDIT_KEYS,
        Binding("escape", "close_search", show=False),
    ]

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.runs: list[Run] = []

    def compose(self) -> ComposeResult:
        yield TopBar(f"Task {self.key}")
        yield Static("", id="task-summary")
        with TabbedContent(id="task-tabs"):
            with TabPane("Overview", id="tab-overview"), VerticalScroll():
                yield Static("loading…", id="overview")
            with TabPane("Runs", id="tab-runs"):
                yield RunTable(
                    ("id", "status", "trigger", "queued", "took", "attempt", "error"),
                    id="task-runs",
                )
                yield Static("No runs yet — press r to run.", classes="empty", id="task-runs-empty")
            with TabPane("Log", id="tab-log"):
                yield LogView(self.session.store(), self.session.tz, id="log")
                yield Input(placeholder="search the log (enter: next, esc: close)", id="search")
            with TabPane("Outputs", id="tab-outputs"):
                yield DataTable(id="task-outputs", cursor_type="row")
                yield Static(
                    "No output files recorded yet.", classes="empty", id="task-outputs-empty"
                )
        yield KeyFooter()

    def on_mount(self) -> None:
        self._summary()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """"last: ✓ succeeded 5s ago" and running runs' `took` move on without a query."""
        self._summary()
        self.query_one("#task-runs", RunTable).tick(self.session.now())

    def _summary(self) -> None:
        entry = self.session.catalogue().tasks.get(self.key)
        text = Text()
        if entry is None:
            text.append(f"There is no task {self.key} (was its file removed?)", style="red")
        else:
            text.append(entry.title, style="bold")
            if entry.broken:
                text.append("  ✗ broken definition", style="bold red")
            elif entry.spec is not None:
                text.append(f"  {entry.spec.run.kind}", style="dim")
                if not entry.spec.enabled:
                    text.append("  disabled", style="yellow")
            last = self.runs[0] if self.runs else None
            if last is not None:
                now = self.session.now()
                status = fmt.run_status(last, self.session.tz, now)
                text.append("  last: ").append_text(Text.from_markup(status))
                text.append(f" {fmt.ago(fmt.ended(last), now)}", style="dim")
            else:
                text.append("  no runs yet — press r to run", style="dim")
        self.query_one("#task-summary", Static).update(text)

    def reload(self) -> None:
        session = self.session
        key = self.key
        catalogue = session.catalogue()

        def query() -> TaskData:
            now = session.now()
            with session.store().read() as conn:
                runs = list_runs(conn, RunFilter(task_key=key), limit=HISTORY)
                outputs = task_outputs(conn, key)
                marks = schedule_marks(conn)
            entry = catalogue.tasks.get(key)
            overview: RenderableType = (
                task_overview(session, catalogue, entry, now, marks.next_fire)
                if entry is not None
                else Text(f"no task {key}", style="red")
            )
            return TaskData(runs, outputs, overview)

        self.load(query, self._show, group="task")

    def on_pulse(self, pulse: Pulse, previous: Pulse | None) -> None:
        latest = self.runs[0] if self.runs else None
        if (
            latest is not None
            and not pulse.runs_changed(previous)
            and (active := pulse.active_by_id.get(int(latest.id or 0))) is not None
        ):
            self.query_one(LogView).set_total(active.log_lines, finished=False)
            return
        if pulse.runs_changed(previous) or (
            previous is not None and pulse.max_output_id != previous.max_output_id
        ):
            self.reload()

    def _show(self, data: TaskData) -> None:
        self.runs = data.runs
        now = self.session.now()
        table = self.query_one("#task-runs", RunTable)
        table.now, table.tz = now, self.session.tz
        table.set_runs(data.runs)
        self.query_one("#task-runs-empty").display = not data.runs
        table.display = bool(data.runs)
        outputs = self.query_one("#task-outputs", DataTable)
        if not outputs.columns:
            outputs.add_columns("run", "stage", "file", "size", "md5", "delivered to")
        outputs.clear()
        for item in data.outputs:
            outputs.add_row(
                f"#{item.run_id}", *output_cells(item.file, self.session), key=str(item.file.id)
            )
        self.query_one("#task-outputs-empty").display = not data.outputs
        outputs.display = bool(data.outputs)
        self.query_one("#overview", Static).update(data.overview)
        log = self.query_one(LogView)
        latest = data.runs[0] if data.runs else None
        if latest is None:
            log.show_run(None, 0, True)
        else:
            log.show_run(int(latest.id or 0), latest.log_lines, RunStatus(latest.status).finished)
        tabs = self.query_one(TabbedContent)
        tabs.get_tab(
            "tab-runs"
        ).label = f"Runs ({len(data.runs)}{'+' if len(data.runs) >= HISTORY else ''})"  # type: ignore[assignment]
        tabs.get_tab("tab-log").label = f"Log #{latest.id}" if latest else "Log"  # type: ignore[assignment]
        self._summary()
        self.refresh_bindings()

    def selected_task(self) -> str | None:
        entry = self.session.catalogue().tasks.get(self.key)
        return self.key if entry is not None else None

    def selected_runs(self) -> list[Run]:
        tabs = self.query_one(TabbedContent)
        if tabs.active == "tab-runs":
            return self.query_one("#task-runs", RunTable).selected()
        return self.runs[:1]

    def action_follow(self) -> None:
        self.query_one(TabbedContent).active = "tab-log"
        log = self.query_one(LogView)
        log.follow = True
        log.focus()

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    @on(TabbedContent.TabActivated)
    def _tab(self, event: TabbedContent.TabActivated) -> None:
        # The tab's content takes the keys: enter opens a run on Runs, / searches on Log.
        pane = event.pane
        for widget in pane.query("RunTable, LogView, DataTable, VerticalScroll"):
            if widget.display and widget.focusable:
                widget.focus()
                break
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#task-runs")
    def _open(self, event: DataTable.RowSelected) -> None:
        self.console.open_run(int(str(event.row_key.value)))
