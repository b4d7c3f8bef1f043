"""The virtual log pane: renders only the visible lines of a log of any length.

A Line API widget (ScrollView): its virtual height is the number of lines, `render_line`
looks each visible line up in a block cache, and missing blocks are fetched by sequence
range in a worker thread, then the pane repaints. New lines only change the virtual height
(one repaint per store pulse, however fast a task writes), and in follow mode the view
stays at the end. Search, a level filter and "first error" run their queries off the UI
thread too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, tzinfo

from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from duftui.store.db import Store
from duftui.store.logs import LogLine, first_at_level, search
from duftui.store.states import Level
from duftui.tui.logsource import LevelIndex, LogBlocks, fetch_block

LEVELS = (0, Level.INFO, Level.WARNING, Level.ERROR)
LEVEL_STYLE = {Level.ERROR: "red", Level.CRITICAL: "bold red", Level.WARNING: "yellow",
               Level.DEBUG: "dim"}
STRIP_CACHE = 2000


class LogView(ScrollView, can_focus=True):
    """Shows one run's log; call `show_run()` and then `set_total()` as it grows."""

    BINDINGS = [
        Binding("f", "toggle_follow", "Follow", id="follow"),
        Binding("l", "cycle_level", "Level", id="level-filter"),
        Binding("exclamation_mark", "first_error", "First error", id="first-error"),
        Binding("right_square_bracket", "next_match", "Next match", show=False, id="next-match"),
        Binding("left_square_bracket", "previous_match", "Prev match", show=False,
                id="previous-match"),
        Binding("up", "line_up", show=False),
        Binding("down", "line_down", show=False),
        Binding("pageup", "page_up_log", show=False),
        Binding("pagedown,space", "page_down_log", show=False),
        Binding("home,g", "top", show=False),
        Binding("end,G", "bottom", show=False),
    ]

    follow: reactive[bool] = reactive(True)
    level: reactive[int] = reactive(0)

    def __init__(self, store: Store, tz: tzinfo, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.tz = tz
        self.run_id: int | None = None
        self.total = 0
        self.finished = False
        self.needle = ""
        self.mark_seq: int | None = None
        self._blocks = LogBlocks()
        self._index: LevelIndex | None = None
        self._strips: OrderedDict[int, Strip] = OrderedDict()
        self._strip_style: Style | None = None
        self._wanted: set[int] = set()
        self._lock = threading.Lock()
        self._fetching = False
        self._indexing = False
        self._width = 0

    # -- what is shown -----------------------------------------------------------------

    def show_run(self, run_id: int | None, total: int, finished: bool) -> None:
        """Switch to another run (or to none); starts at the end, following."""
        if run_id != self.run_id:
            self.run_id = run_id
            self._blocks.clear()
            self._strips.clear()
            self._width = 0
            self.mark_seq = None
            self.total = 0
            self._index = LevelIndex(self.level) if self.level else None
            self.follow = True
        self.set_total(total, finished)

    def set_total(self, total: int, finished: bool) -> None:
        """The log grew (or the run ended): update the height, follow the end."""
        grown = total != self.total
        self.total = total
        self.finished = finished
        if self._index is not None:
            self._scan_levels()
        if grown:
            self._resize()
        self._update_title()

    @property
    def rows(self) -> int:
        return len(self._index) if self._index is not None else self.total

    def seq_at(self, row: int) -> int | None:
        if self._index is not None:
            return self._index.seq_at(row)
        return row + 1 if 0 <= row < self.total else None

    def row_of(self, seq: int) -> int:
        return self._index.index_of(seq) if self._index is not None else seq - 1

    def _resize(self) -> None:
        self.virtual_size = Size(max(self._width, 1), self.rows)
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def _update_title(self) -> None:
        parts = [f"{self.total:,} line{'s' if self.total != 1 else ''}"]
        if self.level:
            parts.append(f"{Level.name(self.level).lower()}+ ({len(self._index or ()):,})")
        parts.append("following" if self.follow else "paused (f to follow)")
        if self.needle:
            parts.append(f"/{self.needle}")
        self.border_title = " · ".join(parts)

    # -- rendering ---------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        style = self.rich_style
        if style != self._strip_style:
            self._strips.clear()
            self._strip_style = style
        row = scroll_y + y
        seq = self.seq_at(row)
        if seq is None:
            if row == 0 and self.run_id is not None and self.total == 0:
                return self._message(width, style, self._empty_text())
            return Strip.blank(width, style)
        strip = self._strips.get(seq)
        if strip is None:
            line = self._blocks.line(seq)
            if line is None:
                self._request(self._visible_seqs())
                return self._message(width, style, "…")
            strip = self._render(line, style)
            self._strips[seq] = strip
            if len(self._strips) > STRIP_CACHE:
                self._strips.popitem(last=False)
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def _empty_text(self) -> str:
        return "no output" if self.finished else "waiting for output…"

    def _message(self, width: int, style: Style, message: str) -> Strip:
        text = Text(message, style=style + Style(dim=True), no_wrap=True)
        return Strip(text.render(self.app.console)).crop_extend(0, width, style)

    def _render(self, line: LogLine, style: Style) -> Strip:
        digits = max(4, len(str(self.total)))
        mark = "▶" if line.seq == self.mark_seq else " "
        stamp = datetime.fromtimestamp(line.ts, self.tz).strftime("%H:%M:%S")
        text = Text(style=style, no_wrap=True, end="")
        text.append(f"{line.seq:>{digits}}{mark}", style="dim")
        if self.size.width >= 100:
            text.append(f"{stamp} ", style="dim")
        body = Text.from_ansi(line.text) if "\x1b" in line.text else Text(line.text)
        body.expand_tabs()
        level_style = LEVEL_STYLE.get(line.level)
        if line.stream == "event":
            body.stylize("italic")
            text.append("· ", style="dim")
        if level_style:
            body.stylize(level_style)
        if self.needle:
            body.highlight_words([self.needle], style="reverse", case_sensitive=False)
        text.append_text(body)
        return Strip(text.render(self.app.console), text.cell_len)

    def _visible_seqs(self) -> list[int]:
        top = self.scroll_offset.y
        seqs = [self.seq_at(row) for row in range(top, top + self.size.height + 1)]
        return [seq for seq in seqs if seq is not None]

    # -- fetching (worker threads) -----------------------------------------------------

    def _request(self, seqs: list[int]) -> None:
        missing = self._blocks.missing(seqs)
        if not missing or self.run_id is None:
            return
        with self._lock:
            self._wanted.update(missing)
            if self._fetching:
                return
            self._fetching = True
        self._fetch(self.run_id)

    @work(thread=True, group="log-fetch", exit_on_error=False)
    def _fetch(self, run_id: int) -> None:
        try:
            while True:
                with self._lock:
                    wanted = sorted(self._wanted)[:8]
                    self._wanted.difference_update(wanted)
                if not wanted:
                    return
                blocks = {number: fetch_block(self.store, run_id, number) for number in wanted}
                self.app.call_from_thread(self._put, run_id, blocks)
        finally:
            with self._lock:
                self._fetching = False

    def _put(self, run_id: int, blocks: dict[int, list[LogLine]]) -> None:
        if run_id != self.run_id:
            return
        widest = self._width
        for number, lines in blocks.items():
            self._blocks.put(number, lines)
            for line in lines:
                self._strips.pop(line.seq, None)
            if lines:
                widest = max(widest, 8 + len(str(self.total)) + max(len(ln.text) for ln in lines))
        if widest != self._width:
            self._width = widest
            self.virtual_size = Size(widest, self.rows)
        self.refresh()

    def _scan_levels(self) -> None:
        if self._indexing or self._index is None or self.run_id is None:
            return
        if self._index.scanned_to >= self.total:
            return
        self._indexing = True
        self._scan(self.run_id, self._index, self.total)

    @work(thread=True, group="log-index", exit_on_error=False)
    def _scan(self, run_id: int, index: LevelIndex, upto: int) -> None:
        try:
            while index.scanned_to < upto:
                found = index.scan(self.store, run_id, upto)
                self.app.call_from_thread(self._indexed, index, found)
        finally:
            self.app.call_from_thread(self._index_done, index)

    def _indexed(self, index: LevelIndex, found: list[int]) -> None:
        if index is self._index and found:
            index.extend(found)
            self._resize()
            self._update_title()

    def _index_done(self, index: LevelIndex) -> None:
        self._indexing = False
        if index is self._index and index.scanned_to < self.total:
            self._scan_levels()

    # -- actions -----------------------------------------------------------------------

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self._update_title()

    def watch_level(self, level: int) -> None:
        self._index = LevelIndex(level) if level else None
        self._strips.clear()
        self._resize()
        self._scan_levels()
        self._update_title()

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow

    def action_cycle_level(self) -> None:
        self.level = LEVELS[(LEVELS.index(self.level) + 1) % len(LEVELS)]

    def _pause(self) -> None:
        if self.follow:
            self.follow = False

    def action_line_up(self) -> None:
        self._pause()
        self.scroll_to(y=self.scroll_y - 1, animate=False, immediate=True)

    def action_line_down(self) -> None:
        self.scroll_to(y=self.scroll_y + 1, animate=False, immediate=True)

    def action_page_up_log(self) -> None:
        self._pause()
        self.scroll_to(y=self.scroll_y - self.size.height, animate=False, immediate=True)

    def action_page_down_log(self) -> None:
        self.scroll_to(y=self.scroll_y + self.size.height, animate=False, immediate=True)

    def action_top(self) -> None:
        self._pause()
        self.scroll_to(y=0, animate=False, immediate=True)

    def action_bottom(self) -> None:
        self.follow = True

    def on_mouse_scroll_up(self) -> None:
        self._pause()

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
        if needle != self.needle:
            self.needle = needle
            self._strips.clear()
            self.refresh()
            self._update_title()
        if not needle or self.run_id is None:
            return
        top = self.seq_at(self.scroll_offset.y) or 1
        start = self.mark_seq if self.mark_seq is not None else top - 1
        start = start - 1 if backwards else start + 1
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
