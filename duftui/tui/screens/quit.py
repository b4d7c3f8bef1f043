"""Quitting while the console's supervisor still has work.

Running runs can be waited for, cancelled, or left to finish in the background: the
console's supervisor is a child process that outlives the console just long enough to
finish them, and starts nothing new. Runs that are only queued stay queued for a daemon,
the next console or `duftui run`.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

WAIT, CANCEL, LEAVE = "wait", "cancel", "leave"


class QuitScreen(ModalScreen[str | None]):
    """Returns "wait", "cancel", "leave", or None to stay."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Stay", id="quit-stay"),
        Binding("w", "choose('wait')", "Wait", id="quit-wait"),
        Binding("c", "choose('cancel')", "Cancel runs", id="quit-cancel"),
        Binding("l", "choose('leave')", "Leave", id="quit-leave"),
    ]

    def __init__(self, running: int, queued: int) -> None:
        super().__init__()
        self.running = running
        self.queued = queued

    def compose(self) -> ComposeResult:
        many = self.running != 1
        with Vertical(classes="dialog"):
            yield Label("Quit duftui?", classes="dialog-title")
            if self.running:
                yield Label(
                    f"{self.running} run{'s' if many else ''} started by this console "
                    f"{'are' if many else 'is'} still running. Wait for "
                    f"{'them' if many else 'it'}, cancel {'them' if many else 'it'}, or leave "
                    f"{'them' if many else 'it'} to finish in the background (nothing new "
                    "starts).",
                    classes="dialog-note",
                )
            if self.queued:
                yield Label(
                    f"{self.queued} queued run{'s' if self.queued != 1 else ''} will stay "
                    "queued for a daemon (`duftui daemon`) or the next console.",
                    classes="dialog-note",
                )
            with Horizontal(classes="dialog-buttons"):
                if self.running:
                    yield Button("Wait (w)", variant="primary", id=WAIT)
                    yield Button("Cancel (c)", variant="error", id=CANCEL)
                    yield Button("Leave (l)", id=LEAVE)
                else:
                    yield Button("Quit (l)", variant="primary", id=LEAVE)
                yield Button("Stay", id="stay")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id if event.button.id != "stay" else None)

    def action_choose(self, choice: str) -> None:
        if choice in (WAIT, CANCEL) and not self.running:
            choice = LEAVE
        self.dismiss(choice)
