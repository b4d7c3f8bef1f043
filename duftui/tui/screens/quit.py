"""Quitting while the console's embedded supervisor still has work.

Runs the console executes are its child processes: they cannot outlive it, so they are
waited for or cancelled. Runs that are only queued stay queued for a daemon (or the next
console, or `duftui run`), which is what "leave" means.
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
        Binding("l", "choose('leave')", "Leave queued", id="quit-leave"),
    ]

    def __init__(self, running: int, queued: int) -> None:
        super().__init__()
        self.running = running
        self.queued = queued

    def compose(self) -> ComposeResult:
        plural = "s" if self.running != 1 else ""
        with Vertical(classes="dialog"):
            yield Label("Quit duftui?", classes="dialog-title")
            if self.running:
                yield Label(
                    f"{self.running} run{plural} started by this console "
                    f"{'are' if plural else 'is'} still running. They end with the console: "
                    "wait for them, or cancel them.",
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
                    yield Button("Cancel runs (c)", variant="error", id=CANCEL)
                else:
                    yield Button("Quit, leave queued (l)", variant="primary", id=LEAVE)
                yield Button("Stay (esc)", id="stay")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id if event.button.id != "stay" else None)

    def action_choose(self, choice: str) -> None:
        if choice == LEAVE and self.running:
            self.notify("running runs cannot be left behind: wait (w) or cancel them (c)",
                        severity="warning")
            return
        if choice in (WAIT, CANCEL) and not self.running:
            choice = LEAVE
        self.dismiss(choice)
