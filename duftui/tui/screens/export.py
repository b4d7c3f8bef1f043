"""Asks where to export the current History filter as CSV."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label


class ExportScreen(ModalScreen[Path | None]):
    """Returns the file to write (relative paths are inside the workspace), or None."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="export-close")]

    def __init__(self, workspace: Path, suggested: str, summary: str) -> None:
        super().__init__()
        self.workspace = workspace
        self.suggested = suggested
        self.summary = summary

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Export runs to CSV", classes="dialog-title")
            yield Label(self.summary, classes="dialog-note")
            yield Input(self.suggested, placeholder="file.csv", id="export-path")
            yield Label("", id="export-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", variant="primary", id="export")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _target(self) -> Path | None:
        text = self.query_one(Input).value.strip()
        error = self.query_one("#export-error", Label)
        if not text:
            error.update("give a file name")
            return None
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = self.workspace / path
        if path.exists():
            error.update(f"{text} exists; choose another name")
            return None
        if not path.parent.is_dir():
            error.update(f"no folder {path.parent}")
            return None
        return path

    @on(Input.Submitted)
    @on(Button.Pressed, "#export")
    def export(self) -> None:
        target = self._target()
        if target is not None:
            self.dismiss(target)

    @on(Button.Pressed, "#close")
    def close(self) -> None:
        self.dismiss(None)
