"""The Dashboard: running now, the next 24 h of fires, what needs attention, success rates,
and whether a daemon runs the schedules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Grid, Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Static

from duftui.store.dashboard import (
    DAEMON_RUNNING,
    DaemonState,
    ProjectRate,
    attention_runs,
    queued_runs,
    running_runs,
    schedule_marks,
    success_rates,
)
from duftui.store.tables import Run
from duftui.tui import format as fmt
from duftui.tui.fires import Fire, upcoming
from duftui.tui.screens.base import ACK_ALL_KEY, HOME_KEYS, RUN_KEYS, ConsoleScreen, key
from duftui.tui.widgets.key_footer import KeyFooter
from duftui.tui.widgets.open_table import OpenTable
from duftui.tui.widgets.run_table import RunTable
from duftui.tui.widgets.top_bar import TopBar


@dataclass
class DashboardData:
    running: list[Run] = field(default_factory=list)
    queued: list[Run] = field(default_factory=list)
    attention: list[Run] = field(default_factory=list)
    rates: dict[str, ProjectRate] = field(default_factory=dict)
    fires: list[tuple[Fire, int]] = field(default_factory=list)
    now: datetime | None = None


class DashboardScreen(ConsoleScreen):
    """Home screen: what is happening now and what needs a person."""

    TITLE = "Dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        *HOME_KEYS,
        RUN_KEYS[0],
        RUN_KEYS[2],
        RUN_KEYS[3],
        RUN_KEYS[5],
        RUN_KEYS[4],
        key(
            "D",
            "start_daemon",
            "Daemon",
            "Start the daemon in the background (duftui daemon --detach)",
            "start-daemon",
        ),
        ACK_ALL_KEY,
        RUN_KEYS[1],
    ]

    def compose(self) -> ComposeResult:
        yield TopBar(self.TITLE)
        yield Static("", id="daemon-banner")
        with Grid(id="dashboard"):
            with Vertical(id="running-panel", classes="panel"):
                yield RunTable(("id", "task", "took", "status"), id="running")
                yield Static(
                    "Nothing running. Press 3 for Tasks, then r to run one.",
                    classes="empty",
                    id="running-empty",
                )
            with Vertical(id="fires-panel", classes="panel"):
                yield OpenTable(id="fires", cursor_type="row")
                yield Static(
                    "No schedules fire in the next 24 h.", classes="empty", id="fires-empty"
                )
            with Vertical(id="attention-panel", classes="panel"):
                yield RunTable(("id", "task", "status", "error"), id="attention")
                yield Static("Nothing needs attention.", classes="empty", id="attention-empty")
            with Vertical(id="rates-panel", classes="panel"):
                yield OpenTable(id="rates", cursor_type="row")
                yield Static(
                    "No finished runs in the last 7 days.", classes="empty", id="rates-empty"
                )
        yield KeyFooter()

    def on_mount(self) -> None:
        fires = self.query_one("#fires", DataTable)
        fires.add_columns("next", "task", "24h", "schedule")
        rates = self.query_one("#rates", DataTable)
        rates.add_columns("project", "24 h", "7 d")
        self.query_one("#running-panel").border_title = "Running now"
        self.query_one("#fires-panel").border_title = "Next 24 h"
        self.query_one("#attention-panel").border_title = "Needs attention"
        self.query_one("#rates-panel").border_title = "Success rate"
        self.on_daemon(self.console.daemon)
        self.set_interval(1.0, self._tick)

    # -- data ------------------------------------------------------------------------------

    def reload(self) -> None:
        session = self.session
        catalogue = session.catalogue()

        def query() -> DashboardData:
            now = session.now()
            with session.store().read() as conn:
                data = DashboardData(
                    running_runs(conn),
                    queued_runs(conn, 50),
                    attention_runs(conn, 50),
                    success_rates(conn, now),
                    now=now,
                )
                marks = schedule_marks(conn)
            fires = upcoming(
                catalogue, now, default_tz=session.tz, recorded_next=marks.next_fire, limit=2000
            )
            firsts: dict[str, tuple[Fire, int]] = {}
            for fire in fires:
                first, count = firsts.get(fire.key, (fire, 0))
                firsts[fire.key] = (first, count + 1)
            data.fires = sorted(firsts.values(), key=lambda item: (item[0].at, item[0].owner))
            return data

        self.load(query, self._show, group="dashboard")

    def _show(self, data: DashboardData) -> None:
        now = data.now or self.session.now()
        running = self.query_one("#running", RunTable)
        running.now, running.tz = now, self.session.tz
        running.set_runs(data.running + data.queued)
        self._empty("running", not running.order)
        self.query_one("#running-panel").border_title = f"Running now ({len(data.running)})" + (
            f" · {len(data.queued)} queued" if data.queued else ""
        )
        attention = self.query_one("#attention", RunTable)
        attention.now, attention.tz = now, self.session.tz
        attention.set_runs(data.attention)
        self._empty("attention", not attention.order)
        self.query_one("#attention-panel").border_title = (
            f"Needs attention ({len(data.attention)})" if data.attention else "Needs attention"
        )
        self._show_fires(data.fires, now)
        self._show_rates(data.rates)
        focused = self.focused
        if focused is None or not focused.display or focused is self._auto_focused:
            # Until the operator moves elsewhere, the most urgent non-empty panel has focus.
            for name in ("running", "attention", "fires", "rates"):
                table = self.query_one(f"#{name}")
                if table.display:
                    table.focus()
                    self._auto_focused = table
                    break
        self.refresh_bindings()

    def _show_fires(self, fires: list[tuple[Fire, int]], now: datetime) -> None:
        table = self.query_one("#fires", DataTable)
        table.clear()
        for fire, count in fires:
            at = fmt.soon(fire.at, self.session.tz, now)
            own = fmt.in_own_zone(fire.at, fire.zone, self.session.tz, short=True)
            table.add_row(
                ("~" if fire.approximate else "") + at + (f" ({own})" if own else ""),
                Text(fire.owner),
                str(count),
                Text(fire.describe, style="dim"),
                key=fire.key,
            )
        self._empty("fires", not fires)

    def _show_rates(self, rates: dict[str, ProjectRate]) -> None:
        table = self.query_one("#rates", DataTable)
        table.clear()
        for project in sorted(rates):
            rate = rates[project]
            table.add_row(
                Text(project),
                fmt.rate(rate.ok_24h, rate.total_24h),
                fmt.rate(rate.ok_7d, rate.total_7d),
                key=project,
            )
        self._empty("rates", not rates)

    def _empty(self, name: str, empty: bool) -> None:
        self.query_one(f"#{name}-empty").display = empty
        self.query_one(f"#{name}").display = not empty

    def _tick(self) -> None:
        self.query_one("#running", RunTable).tick(self.session.now())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start_daemon":
            state = self.console.daemon
            return state is not None and state.status != DAEMON_RUNNING
        return super().check_action(action, parameters)

    def why_not(self, action: str) -> str | None:
        if action == "start_daemon":
            state = self.console.daemon
            if state is None or state.status != DAEMON_RUNNING:
                return None
            return f"a daemon is already running ({state.describe(self.session.now())})"
        return super().why_not(action)

    _auto_focused: Widget | None = None

    def action_start_daemon(self) -> None:
        self.console.action_start_daemon()

    def on_daemon(self, state: DaemonState | None) -> None:
        banner = self.query_one("#daemon-banner", Static)
        if state is None or state.status == DAEMON_RUNNING:
            banner.display = False
            return
        banner.display = True
        banner.update(
            "[b]No daemon[/b]: schedules do not fire. Start one with [b]duftui daemon[/b] "
            "or press [b]D[/b]."
            if state.lease is None
            else "[b]Daemon lease is stale[/b]: its process stopped heartbeating. Press [b]D[/b] "
            "to start a new one."
        )
        self.refresh_bindings()

    # -- selection -------------------------------------------------------------------------

    def _focused_runs(self) -> RunTable | None:
        focused = self.focused
        return focused if isinstance(focused, RunTable) else None

    def selected_runs(self) -> list[Run]:
        table = self._focused_runs()
        return table.selected() if table else []

    def selected_task(self) -> str | None:
        table = self._focused_runs()
        if table is not None:
            run = table.cursor_run()
            return run.task_key if run else None
        focused = self.focused
        if isinstance(focused, DataTable) and focused.id == "fires" and focused.row_count:
            key = focused.coordinate_to_cell_key(focused.cursor_coordinate).row_key.value or ""
            owner = key.split("#", 1)[0]
            return owner if "/" in owner else None
        return None

    def selected_project(self) -> str | None:
        focused = self.focused
        if (
            isinstance(focused, DataTable)
            and focused.id in ("fires", "rates")
            and focused.row_count
        ):
            key = focused.coordinate_to_cell_key(focused.cursor_coordinate).row_key.value or ""
            return key.split("#", 1)[0].split("/", 1)[0]
        return None

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        table = event.data_table
        if isinstance(table, RunTable):
            run = table.cursor_run()
            if run is not None:
                self.console.open_run(int(run.id or 0))
        elif table.id == "fires":
            task = self.selected_task()
            if task:
                self.console.open_task(task)
        elif table.id == "rates":
            self.console.open_project(str(event.row_key.value))
