"""One `[[deliver]]` target in the task form: local folder, SFTP, FTP or SMB."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult

from duftui.tui.forms.fields.field_row import FieldRow
from duftui.tui.forms.fields.item_list import ItemEditor


class DeliverEditor(ItemEditor):
    """kind, connection, path, overwrite; other keys (retries) are kept as written."""

    NOUN = "delivery"

    def __init__(self, original: Any = None, *, connections: list[str] | None = None) -> None:
        super().__init__(dict(original) if isinstance(original, dict) else {})
        self.connections = connections or []

    def heading(self) -> str:
        return f"Delivery {self.index + 1}"

    def compose_fields(self) -> ComposeResult:
        data = self.original
        yield FieldRow(
            "kind",
            "kind",
            "choice",
            data.get("kind", "local"),
            options=("local", "sftp", "ftp", "smb"),
            allow_blank=False,
        )
        yield FieldRow(
            "connection",
            "connection",
            "text",
            data.get("connection"),
            suggest=self.connections,
            placeholder="from connections.toml (not for local)",
        )
        yield FieldRow("path", "path", "text", data.get("path"), placeholder="exports/clinic")
        yield FieldRow("overwrite", "overwrite", "bool", data.get("overwrite", True))

    def data(self) -> dict[str, Any]:
        out = dict(self.original)
        for row in self.rows():
            value = row.value()
            if row.field == "overwrite" and value and "overwrite" not in self.original:
                value = None
            out[row.field] = value
        return out
