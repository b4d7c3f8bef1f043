"""`?`: every key that works on the screen underneath, and how to move between screens."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from duftui.tui.format import escape

NAVIGATION = (
    ("1 2 3 4", "Dashboard, Projects, Tasks, History"),
    ("enter", "open the selected project, task or run"),
    ("tab", "move between panes and tabs"),
    ("ctrl+p", "command palette: every action by name"),
    ("ctrl+t", "switch light / dark theme"),
    ("ctrl+r", "reload definitions from disk"),
    ("q", "back (quit on the Dashboard)"),
)


class HelpScreen(ModalScreen[None]):
    """Lists the keys of the given screen, generated from its live bindings."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss(None)", "Close", id="help-close")]

    def __init__(self, target: Screen[object]) -> None:
        super().__init__()
        self.target = target

    def _keys(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(style="dim")
        seen: set[str] = set()
        for key, active in self.target.active_bindings.items():
            binding = active.binding
            if not binding.description or binding.action in seen or not binding.id:
                continue
            seen.add(binding.action)
            keys = (
                ", ".join(
                    self.app.get_key_display(Binding(k, binding.action))
                    for k in [
                        k
                        for k, a in self.target.active_bindings.items()
                        if a.binding.action == binding.action
                    ]
                )
                or key
            )
            note = "" if active.enabled else "  (not for this selection)"
            table.add_row(
                escape(keys),
                escape(binding.description),
                escape(binding.tooltip if binding.tooltip != binding.description else "") + note,
            )
        for keys, text in NAVIGATION:
            table.add_row(keys, "", text)
        return table

    def compose(self) -> ComposeResult:
        title = getattr(self.target, "TITLE", "") or "duftui"
        with Vertical(classes="dialog dialog-wide", id="help"):
            yield Label(f"Keys: {title}", classes="dialog-title")
            with VerticalScroll(id="help-keys"):
                yield Static(self._keys())
            yield Label(
                "Docs: docs/console.md · ↑ ↓ pgup pgdn scroll · esc closes", classes="dialog-note"
            )

    def on_mount(self) -> None:
        self._fit()
        self.query_one("#help-keys").focus()  # the arrow and page keys scroll the list

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        # The dialog's title, note and frame take 6 rows; the list scrolls in the rest.
        self.query_one("#help-keys").styles.max_height = max(3, self.app.size.height - 7)
