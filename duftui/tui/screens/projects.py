"""Projects: one row per project folder, with task counts, schedules and health."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import DataTable, Static

from duftui.store.dashboard import ProjectRate, active_counts, success_rates
from duftui.tui import format as fmt
from duftui.tui.screens.base import (
    CONNECTIONS_KEY,
    EDIT_KEYS,
    NAV_KEYS,
    RUN_KEYS,
    TRASH_KEY,
    ConsoleScreen,
)
from duftui.tui.widgets.key_footer import KeyFooter
from duftui.tui.widgets.open_table import OpenTable
from duftui.tui.widgets.top_bar import TopBar


@dataclass
class ProjectsData:
    rates: dict[str, ProjectRate]
    active: dict[str, int]


class ProjectsScreen(ConsoleScreen):
    """Enter opens a project's tasks; r runs the whole project as one batch."""

    TITLE = "Projects"
    EDITS = True
    BINDINGS: ClassVar[list[BindingType]] = [
        *NAV_KEYS,
        RUN_KEYS[0],
        *EDIT_KEYS,
        CONNECTIONS_KEY,
        TRASH_KEY,
    ]

    def compose(self) -> ComposeResult:
        yield TopBar(self.TITLE)
        yield OpenTable(id="projects", cursor_type="row")
        yield Static(
            "No projects yet: create a folder under tasks/ with a project.toml.",
            classes="empty",
            id="projects-empty",
        )
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("project", key="project")
        table.add_column("name", key="name")
        table.add_column("tasks", key="tasks")
        table.add_column("schedules", key="schedules")
        table.add_column("active", key="active")
        table.add_column("24 h", key="24h")
        table.add_column("7 d", key="7d")
        table.add_column("owner", key="owner")
        table.focus()

    def reload(self) -> None:
        session = self.session

        def query() -> ProjectsData:
            with session.store().read() as conn:
                return ProjectsData(success_rates(conn, session.now()), active_counts(conn))

        self.load(query, self._show, group="projects")

    def _show(self, data: ProjectsData) -> None:
        catalogue = self.session.catalogue()
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for key, project in sorted(catalogue.projects.items()):
            entries = catalogue.project_tasks(key)
            broken = sum(1 for e in entries if e.broken)
            schedules = len(project.spec.schedule) + sum(
                len(e.spec.schedule) for e in entries if e.spec is not None
            )
            active = sum(data.active.get(e.key, 0) for e in entries)
            rate = data.rates.get(key, ProjectRate(key))
            tasks = Text(str(len(entries)))
            if broken:
                tasks.append(f" ({broken} broken)", style="bold red")
            table.add_row(
                Text(key, style="bold"),
                Text(project.title),
                tasks,
                str(schedules or "—"),
                Text(str(active), style="cyan") if active else Text("—", style="dim"),
                fmt.rate(rate.ok_24h, rate.total_24h),
                fmt.rate(rate.ok_7d, rate.total_7d),
                Text(project.spec.owner or "—"),
                key=key,
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)
        self.query_one("#projects-empty").display = table.row_count == 0
        table.display = table.row_count > 0
        self.refresh_bindings()

    def selected_project(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        self.console.open_project(str(event.row_key.value))
