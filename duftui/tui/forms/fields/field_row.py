"""One labelled field of a form: label, editor, and the line that says what is wrong.

Every row knows the definition path it edits ("run.file", "schedule[0].cron"), the same
path `validate_task` puts on its problems, so a problem lands next to its field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, SelectionList, Static, TextArea

from duftui.tui.format import escape
from duftui.tui.forms.fields import values as v

# kind → (value to text, text to value) for the one-line inputs
TEXT_KINDS: dict[str, tuple[Callable[[Any], str], Callable[[str], Any]]] = {
    "text": (lambda x: "" if x is None else str(x), v.parse_text),
    "secret": (lambda x: "", v.parse_text),
    "duration": (lambda x: "" if x is None else str(x), v.parse_text),
    "int": (lambda x: "" if x is None else str(x), v.parse_int),
    "float": (lambda x: "" if x is None else str(x), v.parse_float),
    "datetime": (v.show_datetime, v.parse_datetime),
    "value": (v.show_value, v.parse_value),
    "list": (v.show_list, v.parse_list),
    "args": (v.show_args, v.parse_args),
    "mapping": (v.show_mapping, v.parse_mapping),
    "table": (v.show_table, v.parse_table),
}


class ErrorTarget:
    """A place where problems are shown: a field row, or a group (a schedule, a table).

    `path` is the definition path of what it edits; problems at or below it land here."""

    path: str = ""

    def show_errors(self, messages: list[str]) -> None:
        raise NotImplementedError

    def focus_target(self) -> Widget | None:
        """The widget to focus when this is the first thing to fix."""
        raise NotImplementedError


class FieldRow(Vertical, ErrorTarget):
    """A label and one editor; `value()` gives TOML data (None: leave the key out)."""

    class PickFile(Message):
        """The row's "…" button: the form opens its file picker for this row."""

        def __init__(self, row: FieldRow) -> None:
            super().__init__()
            self.row = row

    def __init__(
        self,
        name: str,
        label: str,
        kind: str = "text",
        value: Any = None,
        *,
        path: str | None = None,
        placeholder: str = "",
        options: Sequence[str] | Sequence[tuple[str, str]] = (),
        allow_blank: bool = True,
        suggest: Sequence[str] = (),
        pick: bool = False,
        tooltip: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="field-row")
        self.field = name
        self.path = path or name
        self.caption = label
        self.kind = kind
        self.initial = value
        self.placeholder = placeholder
        self.options = [(o, o) if isinstance(o, str) else o for o in options]
        self.allow_blank = allow_blank
        self.suggest = list(suggest)
        self.pick = pick
        self.field_tooltip = tooltip
        self.editor: Widget = self._make_editor()

    def _make_editor(self) -> Widget:
        kind, value = self.kind, self.initial
        if kind == "bool":
            return Checkbox(self.caption, bool(value), compact=True, tooltip=self.field_tooltip)
        if kind == "choice":
            known = [o for _, o in self.options]
            options = list(self.options)
            if value is not None and value not in known:  # keep what the file says
                options.append((str(value), value))
            return Select(
                options,
                value=value if value is not None else Select.NULL,
                allow_blank=self.allow_blank,
                prompt=self.placeholder or "(not set)",
                compact=True,
                tooltip=self.field_tooltip,
            )
        if kind == "multi":
            chosen = set(value or [])
            return SelectionList[str](
                *[(label, key, key in chosen) for label, key in self.options], compact=True
            )
        if kind == "lines":
            return TextArea(
                "" if value is None else str(value),
                compact=True,
                soft_wrap=True,
                placeholder=self.placeholder,
                tooltip=self.field_tooltip,
            )
        show, _ = TEXT_KINDS[kind]
        return Input(
            show(value),
            placeholder=self.placeholder,
            password=kind == "secret",
            suggester=SuggestFromList(self.suggest, case_sensitive=False) if self.suggest else None,
            compact=True,
            tooltip=self.field_tooltip,
            select_on_focus=False,  # a stray key must not replace the whole value
        )

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-line"):
            if self.kind != "bool":
                yield Label(self.caption, classes="field-label")
            yield self.editor
            if self.pick:
                yield Button("…", compact=True, classes="field-pick", tooltip="Pick a file")
        yield Static("", classes="field-error")

    def value(self) -> Any:
        """The field's value as TOML data (None: not set)."""
        editor = self.editor
        if isinstance(editor, Checkbox):
            return editor.value
        if isinstance(editor, Select):
            return None if editor.value is Select.NULL else editor.value
        if isinstance(editor, SelectionList):
            return list(editor.selected)
        if isinstance(editor, TextArea):
            return editor.text if editor.text.strip() else None
        assert isinstance(editor, Input)
        return TEXT_KINDS[self.kind][1](editor.value)

    def set_value(self, value: Any) -> None:
        editor = self.editor
        if isinstance(editor, Checkbox):
            editor.value = bool(value)
        elif isinstance(editor, Select):
            editor.value = value if value is not None else Select.NULL
        elif isinstance(editor, TextArea):
            editor.text = "" if value is None else str(value)
        elif isinstance(editor, Input):
            editor.value = TEXT_KINDS[self.kind][0](value)

    @property
    def text(self) -> str:
        """What the operator typed (one-line inputs), for previews."""
        return self.editor.value if isinstance(self.editor, Input) else ""

    def show_errors(self, messages: list[str]) -> None:
        self.set_class(bool(messages), "-invalid")
        self.query_one(".field-error", Static).update(escape("\n".join(f"✗ {m}" for m in messages)))

    def focus_target(self) -> Widget | None:
        return self.editor

    @on(Button.Pressed, ".field-pick")
    def _pick(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.PickFile(self))
