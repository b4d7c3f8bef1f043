"""Pick a script, notebook or SQL file inside a project folder, filtered as you type.

Paths in a task file are relative to its project folder, so the picker lists files under
that folder only and returns them in that form ("scripts/extract.py").
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

SKIP_DIRS = {"__pycache__", ".duftui", ".git", ".ipynb_checkpoints", "node_modules", ".venv"}
LIMIT = 2000


def project_files(folder: Path, limit: int = LIMIT) -> list[str]:
    """Files under `folder` (not definitions, not hidden), relative, sorted; scripts first."""
    found: list[str] = []
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or name.endswith((".toml", ".pyc")):
                continue
            found.append((Path(current) / name).relative_to(folder).as_posix())
            if len(found) >= limit:
                return found
    scripts = (".py", ".ipynb", ".sql", ".sh")
    return sorted(found, key=lambda p: (not p.endswith(scripts), p))


class FilePicker(ModalScreen[str | None]):
    """Returns the chosen path relative to the project folder, or None."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="picker-close")]

    def __init__(self, folder: Path, current: str = "") -> None:
        super().__init__()
        self.folder = folder
        self.files = project_files(folder)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-wide", id="file-picker"):
            yield Label(f"Pick a file in {self.folder.name}/", classes="dialog-title")
            yield Input(placeholder="filter: part of the name", id="picker-filter", compact=True)
            yield OptionList(id="picker-files")
            yield Label("enter picks · esc closes", classes="dialog-note")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#picker-filter", Input).focus()

    def _fill(self, text: str) -> None:
        words = text.lower().split()
        shown = [f for f in self.files if all(w in f.lower() for w in words)]
        options = self.query_one("#picker-files", OptionList)
        options.clear_options()
        options.add_options([Option(Text(path), id=path) for path in shown])
        if not shown:
            options.add_option(Option("no file matches", disabled=True))
        elif self.current in shown:
            options.highlighted = shown.index(self.current)
        else:
            options.highlighted = 0

    @on(Input.Changed, "#picker-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#picker-filter")
    def _submit(self) -> None:
        options = self.query_one("#picker-files", OptionList)
        if options.highlighted is not None:
            option = options.get_option_at_index(options.highlighted)
            if option.id:
                self.dismiss(option.id)

    def on_key(self, event) -> None:  # type: ignore[no-untyped-def]
        """Up and down move through the list while typing in the filter."""
        options = self.query_one("#picker-files", OptionList)
        if event.key in ("down", "up") and self.query_one("#picker-filter", Input).has_focus:
            event.stop()
            if event.key == "down":
                options.action_cursor_down()
            else:
                options.action_cursor_up()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss(event.option.id)
