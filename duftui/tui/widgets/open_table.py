"""A DataTable whose `enter` is in the footer as "Open" (Textual's own is hidden)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable


class OpenTable(DataTable[Any]):
    """Rows open with enter; the footer says so."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", tooltip="Open the selected row", id="open"),
    ]
