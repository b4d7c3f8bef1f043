"""One declared parameter in a form (`[params.NAME]`, DUFT's supportedParameters)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal

from duftui.definitions.common import is_reference
from duftui.tui.forms.fields.field_row import FieldRow
from duftui.tui.forms.fields.item_list import ItemEditor

FLAGS = (
    ("allow_override", "override", "A manual run may change it (R)"),
    ("prompt", "prompt", "The console asks for it before a manual run"),
    ("secret", "secret", "Never shown, logged, stored or exported"),
)


def as_table(raw: Any) -> dict[str, Any]:
    """`region = "north"` is shorthand for `[params.region] default = "north"`."""
    if isinstance(raw, dict) and not is_reference(raw):
        return dict(raw)
    return {"default": raw}


class ParamEditor(ItemEditor):
    """name, default, title, description and the three flags. A parameter the file wrote
    in shorthand stays shorthand while only its default is set."""

    NOUN = "parameter"

    def __init__(self, original: tuple[str, Any] | None = None) -> None:
        name, raw = original if original is not None else ("", None)
        super().__init__((name, raw))
        self.name_initial = name
        self.shorthand = original is not None and not (
            isinstance(raw, dict) and not is_reference(raw)
        )
        self.table = as_table(raw) if original is not None else {}

    def heading(self) -> str:
        return f"Parameter {self.index + 1}"

    def item_path(self, index: int, prefix: str) -> str:
        name = self.current_name() if self.is_mounted else self.name_initial
        return f"{prefix}.{name}" if name else f"{prefix}[{index}]"

    def current_name(self) -> str:
        return next(row for row in self.rows() if row.field == "name").text.strip()

    def compose_fields(self) -> ComposeResult:
        table = self.table
        yield FieldRow("name", "name", "text", self.name_initial, placeholder="start_date")
        yield FieldRow(
            "default",
            "default",
            "value",
            table.get("default"),
            placeholder='text, 2, true, parse(%Y-%m-%d-1) or {secret = "name"}',
        )
        yield FieldRow("title", "title", "text", table.get("title"))
        yield FieldRow("description", "description", "text", table.get("description"))
        with Horizontal(classes="field-flags"):
            for field, label, tip in FLAGS:
                yield FieldRow(field, label, "bool", table.get(field, False), tooltip=tip)

    def data(self) -> tuple[str, Any]:
        rows = {row.field: row for row in self.rows()}
        out: dict[str, Any] = {
            k: val for k, val in self.table.items() if k not in rows
        }  # keys the form does not know stay
        for field, row in rows.items():
            if field == "name":
                continue
            value = row.value()
            if isinstance(value, bool) and not value and field not in self.table:
                value = None
            out[field] = value
        set_keys = {k for k, val in out.items() if val is not None}
        if self.shorthand and set_keys <= {"default"} and out.get("default") is not None:
            return self.current_name(), out["default"]
        return self.current_name(), out
