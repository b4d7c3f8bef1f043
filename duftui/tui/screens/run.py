"""Run: the log (follow, search, level filter, first error), outputs, timings and resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane

from duftui.store.dashboard import Pulse
from duftui.store.outputs import outputs_of
from duftui.store.runs import get_run
from duftui.store.states import RunStatus
from duftui.store.tables import OutputFile, Run
from duftui.tui.screens.base import NAV_KEYS, RUN_KEYS, TAB_KEYS, key
from duftui.tui.screens.log_keys import SEARCH_KEY, LogSearchKeys
from duftui.tui.widgets.key_footer import KeyFooter
from duftui.tui.widgets.log_view import LogView
from duftui.tui.widgets.run_details import output_cells, run_details, run_summary
from duftui.tui.widgets.top_bar import TopBar


@dataclass
class RunData:
    run: Run | None
    outputs: list[OutputFile] = field(default_factory=list)


class RunScreen(LogSearchKeys):
    """One run. Its log follows while it runs; `/` searches, `l` filters by level."""

    TITLE = "Run"
    BINDINGS: ClassVar[list[BindingType]] = [
        *NAV_KEYS,
        SEARCH_KEY,
        key("f", "follow", "Follow", "Follow the end of the log (on/off)", "follow"),
        *RUN_KEYS[2:],
        RUN_KEYS[0],
        *TAB_KEYS,
        Binding("escape", "close_search", show=False),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.run: Run | None = None

    def compose(self) -> ComposeResult:
        yield TopBar(f"Run #{self.run_id}")
        yield Static("loading…", id="run-summary")
        with TabbedContent(id="run-tabs"):
            with TabPane("Log", id="tab-log"):
                yield LogView(self.session.store(), self.session.tz, id="log")
                yield Input(placeholder="search the log (enter: next, esc: close)", id="search")
            with TabPane("Outputs", id="tab-outputs"):
                yield DataTable(id="outputs", cursor_type="row")
                yield Static(
                    "This run recorded no output files.", classes="empty", id="outputs-empty"
                )
            with TabPane("Details", id="tab-details"):
                yield Static("", id="details")
        yield KeyFooter()

    def on_mount(self) -> None:
        # Tab panes mount after the screen: their widgets are set up when data arrives.
        self.call_after_refresh(self._focus_log)
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """A running run's elapsed time moves on without a query."""
        if self.run is not None and self.run.status == "running":
            summary = run_summary(self.run, self.session, self.session.now())
            self.query_one("#run-summary", Static).update(summary)

    def _focus_log(self) -> None:
        for log in self.query(LogView):
            log.focus()

    def reload(self) -> None:
        store = self.session.store()
        run_id = self.run_id

        def query() -> RunData:
            with store.read() as conn:
                return RunData(get_run(conn, run_id), outputs_of(conn, run_id))

        self.load(query, self._show, group="run")

    def on_pulse(self, pulse: Pulse, previous: Pulse | None) -> None:
        if not pulse.run_changed(previous, self.run_id):
            return
        active = pulse.active_by_id.get(self.run_id)
        run = self.run
        only_lines = (
            active is not None
            and run is not None
            and previous is not None
            and active.status == run.status
            and active.progress == run.progress_done
            and active.cancel_requested == run.cancel_requested
            and pulse.max_output_id == previous.max_output_id
            and pulse.max_audit_id == previous.max_audit_id
        )
        if only_lines:
            # A flood of new lines costs one height change, not a re-read of the row.
            assert active is not None
            self.query_one(LogView).set_total(active.log_lines, finished=False)
            return
        self.reload()

    def _show(self, data: RunData) -> None:
        run = data.run
        summary = self.query_one("#run-summary", Static)
        if run is None:
            summary.update(f"There is no run #{self.run_id} (it may have been purged).")
            return
        self.run = run
        now = self.session.now()
        summary.update(run_summary(run, self.session, now))
        finished = RunStatus(run.status).finished
        self.query_one(LogView).show_run(self.run_id, run.log_lines, finished)
        table = self.query_one("#outputs", DataTable)
        if not table.columns:
            table.add_columns("stage", "file", "size", "md5", "delivered to")
        table.clear()
        for item in data.outputs:
            table.add_row(*output_cells(item, self.session), key=str(item.id))
        self.query_one("#outputs-empty").display = not data.outputs
        table.display = bool(data.outputs)
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("tab-outputs").label = f"Outputs ({len(data.outputs)})"  # type: ignore[assignment]
        self.query_one("#details", Static).update(run_details(run, self.session))
        self.refresh_bindings()

    def selected_runs(self) -> list[Run]:
        return [self.run] if self.run is not None else []

    def selected_task(self) -> str | None:
        if self.run is None:
            return None
        entry = self.session.catalogue().tasks.get(self.run.task_key)
        return entry.key if entry is not None else None

    def action_follow(self) -> None:
        """`f` from anywhere on the screen: show the log and toggle following."""
        self.query_one(TabbedContent).active = "tab-log"
        log = self.query_one(LogView)
        log.focus()
        log.action_toggle_follow()
