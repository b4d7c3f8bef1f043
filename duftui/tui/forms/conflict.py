"""The file changed on disk while its form was open: reload it, or overwrite it.

Never clobber silently: someone (a person in an editor, `git pull`, another console)
wrote the file after the form read it, and only the operator knows which version wins.
"""

from __future__ import annotations

from typing import Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

Choice = Literal["reload", "overwrite", "cancel"]


class ConflictScreen(ModalScreen[Choice]):
    """Returns "reload" (discard the form's changes), "overwrite" or "cancel"."""

    BINDINGS = [
        Binding("r", "choose('reload')", "Reload", id="conflict-reload"),
        Binding("o", "choose('overwrite')", "Overwrite", id="conflict-overwrite"),
        Binding("escape", "choose('cancel')", "Back to the form", id="conflict-cancel"),
    ]

    def __init__(self, rel: str, deleted: bool = False) -> None:
        super().__init__()
        self.rel = rel
        self.deleted = deleted

    def compose(self) -> ComposeResult:
        what = "was deleted" if self.deleted else "changed on disk"
        with Vertical(classes="dialog", id="conflict"):
            yield Label(f"{self.rel} {what} since this form opened it.", classes="dialog-title")
            yield Label(
                "Reload: show the file as it is now (your changes in the form are lost).\n"
                "Overwrite: write the form's values over it (the other change is lost).",
                classes="dialog-note",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Reload (r)", id="reload", variant="primary")
                yield Button("Overwrite (o)", id="overwrite", variant="error")
                yield Button("Back (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#reload", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id)  # type: ignore[arg-type]

    def action_choose(self, choice: Choice) -> None:
        self.dismiss(choice)
