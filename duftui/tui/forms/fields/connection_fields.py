"""The fields of one connection type, read off its model, and DUFT's typed parameters.

Credentials (`password`, `passphrase`, DUFT params of type password) are password
inputs that start empty: what is typed goes to the secrets file through
`save_connection(secret_values=…)`, never into connections.toml, and an empty input
keeps whatever reference the file already has.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic_core import PydanticUndefined
from textual.app import ComposeResult
from textual.widgets import Select

from duftui.definitions.common import is_reference
from duftui.definitions.connections import CONNECTION_TYPES, SECRET_FIELDS
from duftui.tui.forms.fields.field_row import FieldRow
from duftui.tui.forms.fields.item_list import ItemEditor
from duftui.tui.forms.fields.values import toml_literal

DUFT_TYPES = ("text", "password", "integer", "url")


def secret_placeholder(current: Any) -> str:
    """What an empty password input keeps."""
    if isinstance(current, dict) and is_reference(current):
        return f"keeps {toml_literal(current)}; type to replace"
    if isinstance(current, str) and current:
        return "the file has it in clear text: type it here to move it to the secrets file"
    return "not set; what you type goes to the secrets file"


def _kind(annotation: Any) -> str:
    args = set(typing.get_args(annotation)) if isinstance(annotation, types.UnionType) else set()
    if annotation is bool:
        return "bool"
    if annotation is int or int in args - {bool}:
        return "int"
    if annotation is float:
        return "float"
    if typing.get_origin(annotation) is dict:
        return "table"
    return "text"


def type_rows(kind: str, data: dict[str, Any]) -> list[FieldRow]:
    """One row per field of the connection type `kind` (DUFT params excepted)."""
    model = CONNECTION_TYPES.get(kind)
    if model is None:
        return []
    rows = []
    for name, info in model.model_fields.items():
        if name in ("type", "params"):
            continue
        current = data.get(name)
        if name in SECRET_FIELDS:
            rows.append(
                FieldRow(name, name, "secret", None, placeholder=secret_placeholder(current))
            )
            continue
        field_kind = _kind(info.annotation)
        required = info.default is PydanticUndefined and info.default_factory is None
        default = None if required else info.default
        if field_kind == "bool":
            rows.append(FieldRow(name, name, "bool", current if current is not None else default))
            continue
        placeholder = "required" if required else ("" if default in (None, "") else str(default))
        rows.append(FieldRow(name, name, field_kind, current, placeholder=placeholder))
    return rows


class DuftParamEditor(ItemEditor):
    """One named parameter of a DUFT connection: type, label and value (a password
    input when the type is password)."""

    NOUN = "parameter"

    def __init__(self, original: tuple[str, Any] | None = None) -> None:
        name, table = original if original is not None else ("", {})
        super().__init__((name, dict(table) if isinstance(table, dict) else {"value": table}))
        self.param_name, self.table = name, self.original[1]

    def item_path(self, index: int, prefix: str) -> str:
        name = self.current_name() if self.is_mounted else self.param_name
        return f"{prefix}.{name}" if name else f"{prefix}[{index}]"

    def _row(self, field: str) -> FieldRow:
        return next(row for row in self.rows() if row.field == field)

    def current_name(self) -> str:
        return self._row("name").text.strip()

    def compose_fields(self) -> ComposeResult:
        table = self.table
        kind = table.get("type", "text")
        value = table.get("value")
        yield FieldRow("name", "name", "text", self.param_name, placeholder="e.g. server")
        yield FieldRow("type", "type", "choice", kind, options=DUFT_TYPES, allow_blank=False)
        yield FieldRow("label", "label", "text", table.get("label"))
        yield FieldRow("value", "value", "value", None if kind == "password" else value)
        yield FieldRow("secret", "value", "secret", None, placeholder=secret_placeholder(value))

    def on_mount(self) -> None:
        self._show_kind()

    def _show_kind(self) -> None:
        password = self._row("type").value() == "password"
        self._row("value").set_class(password, "-off")
        self._row("secret").set_class(not password, "-off")

    def on_select_changed(self, _event: Select.Changed) -> None:
        self._show_kind()

    def data(self) -> tuple[str, dict[str, Any]]:
        out = dict(self.table)
        kind = self._row("type").value()
        out["type"] = kind
        out["label"] = self._row("label").value()
        if kind != "password":
            out["value"] = self._row("value").value()
        elif self.table.get("type") != "password":
            out["value"] = None  # typed into the password input, or nothing
        return self.current_name(), out

    def typed_secret(self) -> tuple[str, str] | None:
        text = self._row("secret").text
        if self._row("type").value() == "password" and text:
            return self.current_name(), text
        return None
