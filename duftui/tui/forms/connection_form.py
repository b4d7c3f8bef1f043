"""The connection form: fields by type, secrets into the secrets file, "Test connection".

A typed password never reaches connections.toml: `save_connection` stores it in the
user's secrets file and writes `{ secret = "<connection>.<field>" }`. The test runs
`test_connection` on the form's unsaved values in a worker thread (it has its own
deadline), so a host that does not answer never freezes the console.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, Select, Static

from duftui.definitions.connection_check import test_connection
from duftui.definitions.connections import CONNECTION_TYPES, SECRET_FIELDS
from duftui.definitions.edit_base import normalize
from duftui.definitions.editing import (
    SaveResult,
    open_connection,
    save_connection,
    validate_connection,
)
from duftui.definitions.problems import Problem
from duftui.tui.format import escape
from duftui.tui.forms.base_form import DefinitionForm
from duftui.tui.forms.fields.connection_fields import DuftParamEditor, type_rows
from duftui.tui.forms.fields.field_row import FieldRow
from duftui.tui.forms.fields.item_list import ItemList
from duftui.tui.session import Session


class ConnectionForm(DefinitionForm):
    """Edit the connection `name`, or add one to connections.toml when it is None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *DefinitionForm.BINDINGS,
        Binding("ctrl+t", "test", "Test connection", id="form-test-connection"),
    ]

    def __init__(self, session: Session, name: str | None = None, kind: str = "sqlite") -> None:
        self.key = name
        self.start_kind = kind
        super().__init__(session, f"Edit connection {name}" if name else "New connection")
        self.reopen()

    @property
    def new(self) -> bool:
        return self.key is None

    def reopen(self) -> None:
        if self.key is None:
            self.digest: str | None = None
            self.data: dict[str, Any] = {"type": self.start_kind}
            self.opened_problems = []
            return
        draft = open_connection(self.session.catalogue(), self.key)
        self.digest = draft.digest
        self.data = draft.data if isinstance(draft.data, dict) else {}
        self.opened_problems = list(draft.problems)

    def compose_form(self) -> ComposeResult:
        with VerticalScroll(classes="form-body"):
            if self.new:
                name = FieldRow(
                    "name",
                    "name",
                    "text",
                    "",
                    placeholder="letters, digits, . - _ (e.g. clinic_db)",
                )
                name.meta = True  # type: ignore[attr-defined]
                yield name
            kind = FieldRow(
                "type",
                "type",
                "choice",
                self.data.get("type"),
                options=list(CONNECTION_TYPES),
                allow_blank=False,
                id="conn-type",
            )
            yield kind
            with Vertical(id="conn-fields"):
                yield from type_rows(str(self.data.get("type")), self.data)
            yield ItemList(
                "params",
                DuftParamEditor,
                list((self.data.get("params") or {}).items()),
                "+ DUFT parameter",
                id="duft-params",
            )
            yield Static("", id="conn-test")

    def extra_buttons(self) -> ComposeResult:
        yield Button("Test connection ^t", id="conn-test-button", compact=True)

    def refresh_visibility(self) -> None:
        self._show_duft()

    # -- type ----------------------------------------------------------------------------

    def _kind(self) -> str:
        return str(self.query_one("#conn-type", FieldRow).value() or "")

    def _show_duft(self) -> None:
        self.query_one("#duft-params").set_class(self._kind() != "duft", "-off")

    @on(Select.Changed)
    async def _type_changed(self, event: Select.Changed) -> None:
        if event.select is not self.query_one("#conn-type", FieldRow).editor:
            return
        holder = self.query_one("#conn-fields", Vertical)
        current = {r.field: r.value() for r in holder.query(FieldRow) if r.kind != "secret"}
        await holder.remove_children()
        await holder.mount_all(type_rows(self._kind(), {**self.data, **current}))
        self._show_duft()

    # -- data ----------------------------------------------------------------------------

    def current_name(self) -> str:
        if self.key is not None:
            return self.key
        rows = [r for r in self.query(FieldRow) if r.field == "name" and getattr(r, "meta", False)]
        return rows[0].text.strip() if rows else ""

    def _type_rows(self) -> list[FieldRow]:
        return list(self.query_one("#conn-fields").query(FieldRow))

    def collect(self) -> dict[str, Any]:
        name = self.current_name()
        kind = self._kind()
        self.query_one("#conn-type", FieldRow).path = f"{name}.type"
        for row in self.query(FieldRow):
            if getattr(row, "meta", False):
                row.path = name or "name"
        data: dict[str, Any] = {"type": kind}
        model = CONNECTION_TYPES.get(kind)
        fields = set(model.model_fields) if model else set()
        for key, value in self.data.items():  # keys the form does not show stay
            if key in fields and key != "type":
                data[key] = copy.deepcopy(value)
        for row in self._type_rows():
            row.path = f"{name}.{row.field}"
            if row.kind == "secret":
                continue  # the file's reference (if any) stays; typed text goes aside
            value = row.value()
            default = model.model_fields[row.field].default if model else None
            if row.kind == "bool" and value == default and row.field not in self.data:
                value = None
            data[row.field] = value
        params = self.query_one("#duft-params", ItemList)
        params.prefix = f"{name}.params"
        data["params"] = dict(params.data()) if kind == "duft" else None
        return data

    def secret_values(self) -> dict[str, str]:
        typed = {
            row.field: row.text
            for row in self._type_rows()
            if row.kind == "secret" and row.field in SECRET_FIELDS and row.text
        }
        if self._kind() == "duft":
            for item in self.query_one("#duft-params", ItemList).items():
                found = item.typed_secret()  # type: ignore[attr-defined]
                if found:
                    typed[found[0]] = found[1]
        return typed

    def validate(self, data: dict[str, Any]) -> list[Problem]:
        return validate_connection(
            self.session.catalogue(), self.current_name(), data, new=self.new
        )

    def write(self, data: dict[str, Any], overwrite: bool) -> SaveResult:
        return save_connection(
            self.session.workspace,
            self.current_name(),
            data,
            self.secret_values(),
            opened_digest=self.digest,
            user=self.session.user,
            store=self.session.store(),
            secrets=self.session.ctx.secrets(),
            overwrite=overwrite,
        )

    # -- test ----------------------------------------------------------------------------

    def action_test(self) -> None:
        box = self.query_one("#conn-test", Static)
        box.update("testing…")
        box.set_classes("")
        self._test(self.current_name() or "new", normalize(self.collect()), self.secret_values())

    @on(Button.Pressed, "#conn-test-button")
    def _test_pressed(self) -> None:
        self.action_test()

    @work(thread=True, exclusive=True, group="conn-test", exit_on_error=False, name="test")
    def _test(self, name: str, data: dict[str, Any], typed: dict[str, str]) -> None:
        ok, message = test_connection(
            self.session.catalogue(),
            name,
            self.session.ctx.secrets(),
            data=data,
            secret_values=typed,
        )
        self.app.call_from_thread(self._tested, ok, message)

    def _tested(self, ok: bool, message: str) -> None:
        box = self.query_one("#conn-test", Static)
        box.update(escape(("✓ " if ok else "✗ ") + message))
        box.set_classes("-ok" if ok else "-failed")
