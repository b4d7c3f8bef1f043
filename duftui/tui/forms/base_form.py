"""What every definition form shares: validate before saving, show each problem next to
its field, save in a worker, and ask what to do when the file changed on disk.

A form is a `ModalScreen` that returns the `SaveResult` of what it wrote (None when
cancelled); whoever opened it reloads the definitions and says what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Select,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
)

from duftui.definitions.edit_base import ABSENT
from duftui.definitions.editing import EditError, FileChanged, SaveResult, ValidationFailed
from duftui.definitions.problems import Problem
from duftui.tui.errors import ReportsWorkerErrors
from duftui.tui.format import escape
from duftui.tui.forms.conflict import Choice, ConflictScreen
from duftui.tui.forms.fields.field_row import ErrorTarget, FieldRow
from duftui.tui.forms.fields.file_picker import FilePicker
from duftui.tui.forms.fields.item_list import ItemList
from duftui.tui.forms.fields.problems import place, summary
from duftui.tui.session import Session

REVALIDATE_AFTER = 0.3  # seconds of quiet typing before problems are checked again


class DefinitionForm(ReportsWorkerErrors, ModalScreen[SaveResult | None]):
    """Subclasses compose the fields and implement `collect`, `validate` and `write`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="form-save", priority=True),
        Binding("escape", "cancel", "Cancel", id="form-cancel"),
        Binding("alt+right,ctrl+pagedown", "tab(1)", "Next tab", id="form-next-tab"),
        Binding("alt+left,ctrl+pageup", "tab(-1)", "Previous tab", id="form-previous-tab"),
    ]

    HAS_TABS = False  # whether the form shows tabs (the hint says how to switch them)

    def __init__(self, session: Session, title: str) -> None:
        super().__init__(classes="definition-form")
        self.session = session
        self.title_text = title
        self.opened_problems: list[Problem] = []
        self.problems: list[Problem] = []
        self.checking = False  # problems are re-checked as the operator types
        self.saving = False
        self._initial: str | None = None
        self._timer: Timer | None = None

    # -- for subclasses ------------------------------------------------------------------

    def compose_form(self) -> ComposeResult:
        yield from ()

    def extra_buttons(self) -> ComposeResult:
        yield from ()

    def collect(self) -> dict[str, Any]:
        """The form's values as TOML data."""
        raise NotImplementedError

    def validate(self, data: dict[str, Any]) -> list[Problem]:
        raise NotImplementedError

    def write(self, data: dict[str, Any], overwrite: bool) -> SaveResult:
        """Save (runs in a worker thread); raises the core's EditErrors."""
        raise NotImplementedError

    def reopen(self) -> None:
        """Read the definition from disk again (before a recompose)."""
        raise NotImplementedError

    def project_folder(self) -> Any:
        """Where the file picker looks (a task's project folder)."""
        return self.session.workspace

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(classes="form", id="form") as box:
            box.border_title = escape(self.title_text)
            yield from self.compose_form()
            yield Static("", id="form-problems")
            with Horizontal(classes="form-buttons"):
                if self.HAS_TABS:
                    yield Static("alt+← → tabs", classes="form-hint")
                yield from self.extra_buttons()
                yield Button("Save ^s", variant="primary", id="form-save-button", compact=True)
                yield Button("Cancel esc", id="form-cancel-button", compact=True)

    def refresh_visibility(self) -> None:
        """Show the fields that apply (by run kind, connection type, …); runs on mount
        and after a reload from disk rebuilt the fields."""

    def on_mount(self) -> None:
        self.refresh_visibility()
        self.call_after_refresh(self._opened)

    def _opened(self) -> None:
        self._initial = repr(self.collect())
        self.checking = bool(self.opened_problems)
        self.show_problems(self.opened_problems)
        first = next(
            (
                w
                for w in self.query("Input, Select, Checkbox, TextArea").results()
                if w.focusable and self._shown(w)
            ),
            None,
        )
        if first is not None:
            first.focus()

    def _shown(self, widget: Widget) -> bool:
        return not any(node.has_class("-off") for node in widget.ancestors_with_self)

    # -- problems ------------------------------------------------------------------------

    def targets(self) -> list[ErrorTarget]:
        found = [
            node
            for node in self.query("*").results()
            if isinstance(node, ErrorTarget) and self._shown(node)  # type: ignore[arg-type]
        ]
        return found  # type: ignore[return-value]

    def show_problems(self, problems: list[Problem]) -> None:
        self.problems = problems
        targets = self.targets()
        placed, _unplaced = place(problems, targets)
        for index, target in enumerate(targets):
            target.show_errors(placed.get(index, []))
        for node in self.query("*").results():  # rows hidden by the run kind: clear them
            if isinstance(node, ErrorTarget) and node not in targets:
                node.show_errors([])
        box = self.query_one("#form-problems", Static)
        box.update(escape(summary(problems)))
        box.set_class(any(p.is_error for p in problems), "-errors")
        box.display = bool(problems)
        for pane in self.query(TabPane):
            marked = any(
                placed.get(i)
                for i, t in enumerate(targets)
                if pane in t.ancestors  # type: ignore[attr-defined]
            )
            tabbed = self.query_one(TabbedContent)
            tab = tabbed.get_tab(pane.id or "")
            base = str(tab.label.plain).removesuffix(" ✗")
            tab.label = f"{base} ✗" if marked else base  # type: ignore[assignment]

    def focus_first_problem(self) -> None:
        targets = self.targets()
        placed, _ = place(self.problems, targets)
        first = next((t for i, t in enumerate(targets) if placed.get(i)), None)
        if first is None:
            return
        widget = first.focus_target()
        if widget is None:
            return
        pane = next((n for n in widget.ancestors if isinstance(n, TabPane)), None)
        if pane is not None and pane.id:
            self.show_tab(pane.id, focus=widget)
        else:
            widget.focus()
            widget.scroll_visible(animate=False)

    def show_tab(self, pane_id: str, focus: Widget | None = None) -> None:
        """Show a tab and focus `focus` (else its first field). Focus leaves the old tab
        first: Textual would otherwise refocus a neighbour there and switch back."""
        tabbed = self.query_one(TabbedContent)
        self.set_focus(None)
        tabbed.active = pane_id

        def focus_now(tries: int = 0) -> None:
            target = focus
            if target is None:
                pane = tabbed.get_pane(pane_id)
                for kinds in ("Input, Select, Checkbox, TextArea", "Button"):
                    target = next(
                        (w for w in pane.query(kinds).results() if w.focusable and self._shown(w)),
                        None,
                    )
                    if target is not None:
                        break
            if target is None and tries < 20 and tabbed.active == pane_id:
                # On a busy machine the pane may not be displayed after one refresh yet
                # (nothing in it can take the focus): try again after the next one.
                self.call_after_refresh(focus_now, tries + 1)
                return
            if target is not None:
                target.focus()
                target.scroll_visible(animate=False)

        self.call_after_refresh(focus_now)

    def checked(self, data: dict[str, Any]) -> list[Problem]:
        """`validate`, but a check that fails on half-typed input (the time zone
        "Europe" is a folder of zones, and ZoneInfo raises OSError for it) blocks saving
        with its reason instead of closing the console."""
        try:
            return self.validate(data)
        except OSError as exc:
            return [Problem("", None, "", f"cannot check the definition yet: {exc}")]

    def recheck(self) -> None:
        self.show_problems(self.checked(self.collect()))

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(TextArea.Changed)
    @on(SelectionList.SelectedChanged)
    @on(ItemList.Changed)
    def _edited(self) -> None:
        if not self.checking or not self.is_mounted:
            return
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(REVALIDATE_AFTER, self.recheck)

    # -- saving --------------------------------------------------------------------------

    def action_save(self) -> None:
        if self.saving:
            return
        self.checking = True
        data = self.collect()
        problems = self.checked(data)
        self.show_problems(problems)
        if any(p.is_error for p in problems):
            self.focus_first_problem()
            return
        self._write(data, overwrite=False)

    def _write(self, data: dict[str, Any], overwrite: bool) -> None:
        self.saving = True

        def job() -> None:
            try:
                result = self.write(data, overwrite)
            except FileChanged as exc:
                self.app.call_from_thread(self._conflict, exc, data)
            except ValidationFailed as exc:
                self.app.call_from_thread(self._refused, exc.problems)
            except EditError as exc:
                self.app.call_from_thread(self._failed, str(exc))
            else:
                self.app.call_from_thread(self._saved, result)

        self.run_worker(job, thread=True, group="form-save", exit_on_error=False, name="saving")

    def _saved(self, result: SaveResult) -> None:
        self.saving = False
        self.dismiss(result)

    def _refused(self, problems: list[Problem]) -> None:
        self.saving = False
        self.show_problems(problems)
        self.focus_first_problem()

    def _failed(self, message: str) -> None:
        self.saving = False
        self.notify(message, title="Not saved", severity="error", timeout=10)

    def _conflict(self, exc: FileChanged, data: dict[str, Any]) -> None:
        self.saving = False
        rel = self.session.relative(exc.path)

        def chosen(choice: Choice | None) -> None:
            if choice == "overwrite":
                self._write(data, overwrite=True)
            elif choice == "reload":
                self.run_worker(self._reload(), exclusive=True, group="form-reload")

        self.app.push_screen(ConflictScreen(rel, deleted=exc.current == ABSENT), chosen)

    async def _reload(self) -> None:
        self.reopen()
        await self.recompose()
        self.refresh_visibility()
        self._opened()
        self.notify("reloaded from disk; the form shows the file as it is now", title="Reloaded")

    # -- keys ----------------------------------------------------------------------------

    def action_cancel(self) -> None:
        if self._initial is None or repr(self.collect()) == self._initial:
            self.dismiss(None)
            return
        from duftui.tui.screens.confirm import ConfirmScreen

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmScreen("Discard the changes in this form?", yes="Discard", no="Keep editing"),
            answered,
        )

    def action_tab(self, step: int) -> None:
        tabbed = self.query(TabbedContent)
        if not tabbed:
            return
        panes = [pane.id for pane in tabbed.first().query(TabPane) if pane.id]
        current = tabbed.first().active
        if current in panes:
            self.show_tab(panes[(panes.index(current) + step) % len(panes)])

    @on(Button.Pressed, "#form-save-button")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#form-cancel-button")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(FieldRow.PickFile)
    def _pick(self, event: FieldRow.PickFile) -> None:
        row = event.row

        def picked(path: str | None) -> None:
            if path:
                row.set_value(path)
                row.editor.focus()

        self.app.push_screen(FilePicker(self.project_folder(), row.text), picked)


def on_saved(callback: Callable[[SaveResult], None]) -> Callable[[SaveResult | None], None]:
    """A push_screen callback that ignores a cancelled form."""

    def done(result: SaveResult | None) -> None:
        if result is not None:
            callback(result)

    return done
