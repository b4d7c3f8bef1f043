"""Search, "first error" and jumping to a line, for the log pane (a mixin of LogView).

The queries run in worker threads against the store (`search`, `first_at_level`), so a
million-line log is searched without loading it; the pane then jumps to the line found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from duftui.store.logs import first_at_level, search
from duftui.store.states import Level

if TYPE_CHECKING:
    from duftui.tui.widgets.log_view import LogView

    _Base = LogView
else:
    _Base = object


class LogSearch(_Base):
    """Needs LogView's attributes: store, run_id, mark_seq, needle, follow, level."""

    def jump_to(self, seq: int) -> None:
        """Show `seq` a third of the way down the pane, marked, and stop following."""
        self.follow = False
        self.mark_seq = seq
        self._strips.clear()
        row = self.row_of(seq)
        self.scroll_to(y=max(0, row - self.size.height // 3), animate=False, immediate=True)
        self.refresh()

    def find(self, needle: str, backwards: bool = False) -> None:
        """Search from the marked (or top visible) line; jumps to the next match."""
        top = self.seq_at(self.scroll_offset.y) or 1
        if needle != self.needle:
            # A new search starts at the top of the pane, like `less`.
            self.needle = needle
            self._strips.clear()
            self.refresh()
            self._update_title()
            start = top
        elif self.mark_seq is not None:
            start = self.mark_seq - 1 if backwards else self.mark_seq + 1
        else:
            start = top
        if not needle or self.run_id is None:
            return
        self._search(self.run_id, needle, max(1, start), backwards)

    @work(thread=True, exclusive=True, group="log-search", exit_on_error=False)
    def _search(self, run_id: int, needle: str, start: int, backwards: bool) -> None:
        with self.store.read() as conn:
            found = search(conn, run_id, needle, start, backwards)
        self.app.call_from_thread(self._found, run_id, needle, found)

    def _found(self, run_id: int, needle: str, seq: int | None) -> None:
        if run_id != self.run_id:
            return
        if seq is None:
            self.notify(f"no more lines with {needle!r}", severity="warning", timeout=3)
            return
        self.jump_to(seq)

    def action_next_match(self) -> None:
        self.find(self.needle)

    def action_previous_match(self) -> None:
        self.find(self.needle, backwards=True)

    def action_first_error(self) -> None:
        if self.run_id is not None:
            self._first_error(self.run_id)

    @work(thread=True, exclusive=True, group="log-search", exit_on_error=False)
    def _first_error(self, run_id: int) -> None:
        with self.store.read() as conn:
            seq = first_at_level(conn, run_id, Level.ERROR)
        self.app.call_from_thread(self._found_error, run_id, seq)

    def _found_error(self, run_id: int, seq: int | None) -> None:
        if run_id != self.run_id:
            return
        if seq is None:
            self.notify("no error lines in this log", timeout=3)
            return
        if self.level > Level.ERROR:
            self.level = 0
        self.jump_to(seq)
