"""The forms' tabs: a tab follows the focus as it is, not as it was."""

from __future__ import annotations

from textual.widgets import TabbedContent, TabPane


class FormTabs(TabbedContent):
    """A TabbedContent that ignores stale focus news.

    TabbedContent shows the pane that reports a focused descendant. That report is a
    message: on a busy machine it can arrive after the form has moved on to another tab
    (`show_tab`), and would switch back to a pane that no longer holds the focus.
    """

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        focused = self.screen.focused
        if focused is not None and event.tab_pane in focused.ancestors:
            super()._on_tab_pane_focused(event)
        else:
            event.stop()
