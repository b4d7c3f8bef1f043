"""Tasks: every task (or mine, or one tag), filtered as you type, sorted by any column;
broken ones with their error; hidden ones behind a toggle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from duftui.definitions.loader import TASKS_DIR, Catalogue, TaskEntry
from duftui.definitions.problems import Problem
from duftui.store.dashboard import active_counts, latest_runs
from duftui.store.tables import Run
from duftui.tui import format as fmt
from duftui.tui import fuzzy
from duftui.tui.screens.base import (
    EDIT_KEYS,
    NAV_KEYS,
    RUN_KEYS,
    TRASH_KEY,
    ConsoleScreen,
    key,
)
from duftui.tui.widgets.key_footer import KeyFooter
from duftui.tui.widgets.open_table import OpenTable
from duftui.tui.widgets.top_bar import TopBar


@dataclass
class TasksData:
    latest: dict[str, Run]
    active: dict[str, int]


def matches(entry: TaskEntry, words: list[str]) -> bool:
    """Filter text: plain words match key, name, kind and description, or the key fuzzily
    ("dmhl" finds demo/hello); `#tag` a tag."""
    spec = entry.spec
    haystack = " ".join(
        [entry.key, entry.title, spec.run.kind if spec else "", spec.description if spec else ""]
    ).lower()
    for word in words:
        if word.startswith("#"):
            if spec is None or word[1:] not in [t.lower() for t in spec.tags]:
                return False
        elif word not in haystack and not fuzzy.matches(word, entry.key):
            return False  # a word matches the text, or the key with letters left out
    return True


NOT_LOADED_SHOWN = 5
# The columns in the order `o` cycles through them; "when" sorts most recent first.
TASK_SORTS = ("task", "last", "when", "kind", "schedules", "name")


def sort_value(column: str, entry: TaskEntry, latest: Run | None) -> tuple[int, Any]:
    """A key that sorts `entry` by `column`; a task without the value sorts last."""
    spec = entry.spec
    if column == "task":
        return (0, entry.key)
    if column == "last":
        status = "broken" if entry.broken else (latest.status if latest else "")
        return (0 if status else 1, status)
    if column == "when":
        ended = fmt.ended(latest) if latest else None
        return (0, ended.timestamp()) if ended else (1, 0.0)
    if column == "kind":
        return (0, spec.run.kind) if spec else (1, "")
    if column == "schedules":
        text = "; ".join(s.describe() for s in spec.schedule) if spec else ""
        return (0 if text else 1, text)
    if column == "name":
        return (0, entry.title.lower())
    raise ValueError(f"tasks cannot be sorted by {column!r}")


def not_loaded(catalogue: Catalogue, project: str | None = None) -> list[Problem]:
    """Errors of files that are not task entries, within one project's folder if given."""
    task_files = {entry.rel for entry in catalogue.tasks.values()}
    prefix = f"{TASKS_DIR}/{project}" if project else None
    return [
        problem for problem in catalogue.errors
        if problem.file not in task_files
        and (prefix is None or problem.file == prefix or problem.file.startswith(prefix + "/"))
    ]


def task_owner(catalogue: Catalogue, entry: TaskEntry) -> str | None:
    project = catalogue.projects.get(entry.project)
    own = entry.spec.owner if entry.spec else None
    return own or (project.spec.owner if project else None)


class TasksScreen(ConsoleScreen):
    """Enter opens a task; r runs it; m toggles "mine", h shows hidden tasks."""

    TITLE = "Tasks"
    EDITS = True
    BINDINGS: ClassVar[list[BindingType]] = [
        *NAV_KEYS,
        RUN_KEYS[0],
        key("slash", "focus_filter", "Filter", "Filter tasks as you type (words, #tag)", "filter"),
        key("m", "toggle_mine", "Mine", "Show only my tasks (owner = OS user) or all", "mine"),
        EDIT_KEYS[0],
        EDIT_KEYS[1],
        EDIT_KEYS[4],
        EDIT_KEYS[2],
        EDIT_KEYS[3],
        key("h", "toggle_hidden", "Hidden", "Show or hide hidden tasks", "hidden"),
        key("o", "sort_next", "Sort", "Sort by the next column (or click a column header)", "sort"),
        key("O", "sort_flip", "Reverse", "Reverse the sort direction", "sort-reverse", show=False),
        TRASH_KEY,
        RUN_KEYS[1],
        *RUN_KEYS[2:],
        Binding("escape", "clear_filter", show=False),
    ]

    def __init__(self, project: str | None = None) -> None:
        super().__init__()
        self.project = project
        self.mine = False
        self.show_hidden = False
        self.data = TasksData({}, {})
        self.sort_column = "task"
        self.sort_descending = False

    def compose(self) -> ComposeResult:
        yield TopBar(f"Tasks: {self.project}" if self.project else "Tasks")
        yield Input(placeholder="/ filter: words, #tag", id="filter")
        yield Static("", id="scope")
        yield Static("", id="not-loaded")
        yield OpenTable(id="tasks", cursor_type="row")
        yield Static("", classes="empty", id="tasks-empty")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column, label in (
            ("task", "task"),
            ("last", "last run"),
            ("when", "when"),
            ("kind", "kind"),
            ("schedules", "schedules"),
            ("name", "name"),
        ):
            table.add_column(label, key=column)
        table.focus()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """"5s ago" moves on without a query: the visible rows' `when` cells."""
        table = self.query_one(DataTable)
        if not table.display or not table.row_count:
            return
        now = self.session.now()
        top = int(table.scroll_y)
        for row in table.ordered_rows[top : top + table.size.height]:
            run = self.data.latest.get(str(row.key.value))
            if run is not None:
                table.update_cell(row.key, "when", fmt.ago(fmt.ended(run), now))

    def reload(self) -> None:
        session = self.session
        keys = list(session.catalogue().tasks)

        def query() -> TasksData:
            with session.store().read() as conn:
                return TasksData(latest_runs(conn, keys), active_counts(conn))

        self.load(query, self._loaded, group="tasks")

    def _loaded(self, data: TasksData) -> None:
        self.data = data
        self._show()

    def visible(self) -> list[TaskEntry]:
        catalogue = self.session.catalogue()
        words = self.query_one("#filter", Input).value.lower().split()
        owner = self.session.user if self.mine else None
        out = []
        for entry in catalogue.tasks.values():
            if self.project and entry.project != self.project:
                continue
            if entry.spec is not None and entry.spec.hidden and not self.show_hidden:
                continue
            if owner is not None and task_owner(catalogue, entry) != owner:
                continue
            if matches(entry, words):
                out.append(entry)
        by_key = sorted(out, key=lambda e: e.key)
        if self.sort_column == "task" and not self.sort_descending:
            return by_key
        column, latest = self.sort_column, self.data.latest
        # Missing values stay last in both directions; ties keep the key order.
        present = [e for e in by_key if sort_value(column, e, latest.get(e.key))[0] == 0]
        missing = [e for e in by_key if sort_value(column, e, latest.get(e.key))[0] != 0]
        present.sort(key=lambda e: sort_value(column, e, latest.get(e.key))[1],
                     reverse=self.sort_descending)
        return present + missing

    def _show(self) -> None:
        table = self.query_one(DataTable)
        current = self.selected_task()
        entries = self.visible()
        now = self.session.now()
        table.clear()
        for entry in entries:
            table.add_row(*self._cells(entry, now), key=entry.key)
        if current is not None and current in table.rows:
            table.move_cursor(row=table.get_row_index(current), animate=False)
        total = len(
            [
                e
                for e in self.session.catalogue().tasks.values()
                if not self.project or e.project == self.project
            ]
        )
        scope = [
            "mine" if self.mine else "all",
            "hidden shown" if self.show_hidden else "hidden off (h)",
            f"{len(entries)} of {total} tasks",
        ]
        if self.sort_column != "task" or self.sort_descending:
            scope.append(f"sorted by {self.sort_column} {'↓' if self.sort_descending else '↑'}")
        self.query_one("#scope", Static).update(" · ".join(scope))
        self._show_not_loaded()
        empty = self.query_one("#tasks-empty", Static)
        empty.update(
            "No tasks match the filter."
            if total
            else "No tasks yet: add tasks/<project>/<task>.toml, then ctrl+r."
        )
        had_focus = table.has_focus
        empty.display = not entries
        table.display = bool(entries)
        if had_focus and not entries:
            # Hiding the table would hand the focus to the filter, where `m` or `h` typed
            # letters instead of toggling back: the screen keeps the keys.
            self.set_focus(None)
        elif entries and self.focused is None:
            table.focus()
        self.refresh_bindings()

    def _show_not_loaded(self) -> None:
        """Files with errors that are no task of the list (a bad file name, a duplicate
        key, a broken project.toml or connections.toml): without this they would only
        show up in `duftui validate`."""
        problems = not_loaded(self.session.catalogue(), self.project)
        box = self.query_one("#not-loaded", Static)
        box.display = bool(problems)
        if not problems:
            return
        text = Text(f"{len(problems)} definition problem{'s' if len(problems) != 1 else ''} "
                    "outside the tasks below (fix, then ctrl+r):", style="bold red")
        for problem in problems[:NOT_LOADED_SHOWN]:
            text.append(f"\n  {problem}", style="red")
        if len(problems) > NOT_LOADED_SHOWN:
            text.append(f"\n  … and {len(problems) - NOT_LOADED_SHOWN} more: "
                        "`duftui validate` lists them all", style="red")
        box.update(text)

    def _cells(self, entry: TaskEntry, now) -> list[Text | str]:  # type: ignore[no-untyped-def]
        spec = entry.spec
        run = self.data.latest.get(entry.key)
        if entry.broken:
            problem = next((p for p in entry.problems if p.is_error), None)
            last: Text | str = Text("✗ BROKEN", style="bold red")
            name = Text(str(problem) if problem else "definition error", style="red")
        else:
            last = (
                fmt.run_status(run, self.session.tz, now) if run else Text("no runs", style="dim")
            )
            name = Text(entry.title)
        active = self.data.active.get(entry.key, 0)
        if active and run is not None and run.status not in ("queued", "running"):
            last = Text(f"▶ {active} active", style="cyan")
        kind = spec.run.kind if spec else "?"
        if spec is not None and not spec.enabled:
            kind += " (off)"
        schedules = "; ".join(s.describe() for s in spec.schedule) if spec else ""
        when = fmt.ago(fmt.ended(run), now) if run else ""
        return [
            Text(entry.key, style="bold" if not entry.broken else "red"),
            last,
            when,
            kind,
            Text(schedules or "—"),
            name,
        ]

    def selected_task(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count or not table.display:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def selected_runs(self) -> list[Run]:
        key = self.selected_task()
        run = self.data.latest.get(key) if key else None
        return [run] if run else []

    @on(Input.Changed, "#filter")
    def _filter(self) -> None:
        self._show()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        self.console.open_task(str(event.row_key.value))

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus and box.value:
            box.value = ""
        self.query_one(DataTable).focus()

    def action_toggle_mine(self) -> None:
        self.mine = not self.mine
        self._show()

    def sort_by(self, column: str, descending: bool) -> None:
        self.sort_column, self.sort_descending = column, descending
        self.query_one(OpenTable).set_sort_mark(column, descending)
        self._show()

    def action_sort_next(self) -> None:
        column = TASK_SORTS[(TASK_SORTS.index(self.sort_column) + 1) % len(TASK_SORTS)]
        self.sort_by(column, column == "when")

    def action_sort_flip(self) -> None:
        self.sort_by(self.sort_column, not self.sort_descending)

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = str(event.column_key.value)
        if column == self.sort_column:
            self.action_sort_flip()
        elif column in TASK_SORTS:
            self.sort_by(column, column == "when")

    def action_toggle_hidden(self) -> None:
        self.show_hidden = not self.show_hidden
        self._show()
