"""`/` search on a screen that shows a log pane (Run, and Task's Log tab): the search box
under the pane, `enter` for the next match, `esc` to close it."""

from __future__ import annotations

from textual import on
from textual.widgets import Input, TabbedContent

from duftui.tui.screens.base import ConsoleScreen, key
from duftui.tui.widgets.log_view import LogView

SEARCH_KEY = key("slash", "search", "Search", "Search the log (enter: next match)", "filter")


class LogSearchKeys(ConsoleScreen):
    """Needs a `TabbedContent` with a `tab-log` pane holding a LogView and `Input#search`."""

    def action_search(self) -> None:
        self.query_one(TabbedContent).active = "tab-log"
        box = self.query_one("#search", Input)
        box.add_class("open")
        box.focus()

    def action_close_search(self) -> None:
        box = self.query_one("#search", Input)
        if box.has_class("open"):
            box.remove_class("open")
            self.query_one(LogView).focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.query_one(LogView).find(event.value.strip())
