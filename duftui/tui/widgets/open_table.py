"""A DataTable whose `enter` is in the footer as "Open" (Textual's own is hidden), and whose
sorted column carries an arrow in its header."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

ARROWS = {True: " ↓", False: " ↑"}


class OpenTable(DataTable[Any]):
    """Rows open with enter; the footer says so."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", tooltip="Open the selected row", id="open"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_labels: dict[Any, str] = {}  # header texts without a sort arrow

    def set_sort_mark(self, column: str | None, descending: bool = True) -> None:
        """Mark `column`'s header with the sort direction (None: no column is marked)."""
        for key, col in self.columns.items():
            plain = self._plain_labels.setdefault(key, col.label.plain)
            marked = plain + ARROWS[descending] if key.value == column else plain
            col.label = Text(marked, style=col.label.style)
            col.content_width = max(col.content_width, col.label.cell_len)
        self._clear_caches()
        self._require_update_dimensions = True
        self.refresh()
