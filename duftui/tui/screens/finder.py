"""Go anywhere (`ctrl+k` or `g`): one fuzzy search over screens, projects, tasks and runs
by id; `enter` jumps there.

Names are ranked in memory (duftui.tui.fuzzy: one regular expression over 10,000 names
takes milliseconds); a number also looks its run up in the store, by primary key, in a
worker thread, so a million runs cost one lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from duftui.definitions.loader import Catalogue
from duftui.store.runs import get_run
from duftui.tui import format as fmt
from duftui.tui.fuzzy import FuzzyIndex

if TYPE_CHECKING:
    from duftui.tui.session import Session

SHOWN = 40
RUN_ID = re.compile(r"^#?(\d{1,12})$")


@dataclass(frozen=True)
class Target:
    """Where a hit leads: kind is screen, project, task or run."""

    kind: str
    key: str
    label: str


SCREENS = (
    Target("screen", "dashboard", "Dashboard (1)"),
    Target("screen", "projects", "Projects (2)"),
    Target("screen", "tasks", "Tasks (3)"),
    Target("screen", "history", "History (4)"),
    Target("screen", "connections", "Connections"),
    Target("screen", "trash", "Trash"),
)


class FinderIndex:
    """Every target of one catalogue with its search text (built once per catalogue)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        targets = list(SCREENS)
        for key, project in sorted(catalogue.projects.items()):
            targets.append(Target("project", key, f"{key}  {project.title}"))
        for key, entry in sorted(catalogue.tasks.items()):
            targets.append(Target("task", key, f"{key}  {entry.title}"))
        self.targets = targets
        self.index = FuzzyIndex(t.label for t in targets)

    def find(self, query: str, limit: int = SHOWN) -> list[Target]:
        return [self.targets[i] for i in self.index.find(query, limit)]


def index_for(session: Session, cache: dict[int, FinderIndex]) -> FinderIndex:
    catalogue = session.catalogue()
    found = cache.get(id(catalogue))
    if found is None or found.catalogue is not catalogue:
        cache.clear()
        found = cache[id(catalogue)] = FinderIndex(catalogue)
    return found


KIND_STYLE = {"screen": "bold", "project": "magenta", "task": "cyan", "run": "green"}


class FinderScreen(ModalScreen[Target | None]):
    """Type to narrow; ↑ ↓ choose; enter goes; esc closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close", id="finder-close"),
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
        Binding("pagedown", "move(10)", show=False),
        Binding("pageup", "move(-10)", show=False),
    ]

    def __init__(self, session: Session, index: FinderIndex) -> None:
        super().__init__()
        self.session = session
        self.index = index
        self.hits: list[Target] = []
        self.run_hit: Target | None = None
        self.query_text = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide", id="finder"):
            yield Label("Go to: a screen, project, task, or #run", classes="dialog-title")
            yield Input(placeholder="type part of a name (letters in order), or a run id",
                        id="finder-query", select_on_focus=False)
            yield OptionList(id="finder-hits")
            yield Label("↑ ↓ choose · enter go · esc close", classes="dialog-note")

    def on_mount(self) -> None:
        self._show("")
        self.query_one(Input).focus()

    @on(Input.Changed, "#finder-query")
    def _changed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _show(self, query: str) -> None:
        self.query_text = query
        self.hits = self.index.find(query)
        number = RUN_ID.match(query.strip())
        if number is None:
            self.run_hit = None
        else:
            self._look_up_run(int(number.group(1)), query)
        self._fill()

    def _fill(self) -> None:
        hits = ([self.run_hit] if self.run_hit else []) + self.hits
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(self._label(t), id=f"{t.kind}:{t.key}") for t in hits])
        if hits:
            options.highlighted = 0

    @staticmethod
    def _label(target: Target) -> Text:
        text = Text()
        text.append(f"{target.kind:<8}", style=KIND_STYLE.get(target.kind, ""))
        text.append(target.label)
        return text

    @work(thread=True, exclusive=True, group="finder-run", exit_on_error=False)
    def _look_up_run(self, run_id: int, query: str) -> None:
        with self.session.store().read() as conn:
            run = get_run(conn, run_id)
        hit = None
        if run is not None:
            status = Text.from_markup(fmt.run_status(run, self.session.tz, self.session.now()))
            hit = Target("run", str(run_id), f"#{run_id}  {run.task_key}  {status.plain}")
        self.app.call_from_thread(self._run_found, query, hit)

    def _run_found(self, query: str, hit: Target | None) -> None:
        if query == self.query_text and hit != self.run_hit:
            self.run_hit = hit
            self._fill()

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + step))

    def chosen(self) -> Target | None:
        options = self.query_one(OptionList)
        hits = ([self.run_hit] if self.run_hit else []) + self.hits
        index = options.highlighted
        return hits[index] if index is not None and 0 <= index < len(hits) else None

    @on(Input.Submitted, "#finder-query")
    def _submitted(self) -> None:
        self.dismiss(self.chosen())

    @on(OptionList.OptionSelected, "#finder-hits")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one(OptionList).highlighted = event.option_index
        self.dismiss(self.chosen())
