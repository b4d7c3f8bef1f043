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

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from duftui.store.db import Store
from duftui.store.logs import LogLine
from duftui.store.states import Level
from duftui.tui.errors import ReportsWorkerErrors
from duftui.tui.logsource import LevelIndex, LogBlocks, fetch_block
from duftui.tui.widgets.log_search import LogSearch

LEVELS = (0, Level.INFO, Level.WARNING, Level.ERROR)
LEVEL_STYLE = {
    Level.ERROR: "red",
    Level.CRITICAL: "bold red",
    Level.WARNING: "yellow",
    Level.DEBUG: "dim",
}
STRIP_CACHE = 2000


class LogView(LogSearch, ReportsWorkerErrors, ScrollView, can_focus=True):
    """Shows one run's log; call `show_run()` and then `set_total()` as it grows."""

    BINDINGS = [
        Binding(
            "f",
            "toggle_follow",
            "Follow",
            tooltip="Follow the end of the log (on/off)",
            id="follow",
        ),
        Binding(
            "l",
            "cycle_level",
            "Level",
            tooltip="Show all / info+ / warning+ / error+",
            id="level-filter",
        ),
        Binding(
            "exclamation_mark",
            "first_error",
            "1st error",
            tooltip="Jump to the first error line",
            id="first-error",
        ),
        Binding("right_square_bracket", "next_match", "Next match", show=False, id="next-match"),
        Binding(
            "left_square_bracket", "previous_match", "Prev match", show=False, id="previous-match"
        ),
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
        self._strip_style: tuple[Style, bool] | None = None
        self._wanted: set[int] = set()
        self._lock = threading.Lock()
        self._fetching = False
        self._indexing = False
        self._width = 0
        self._pending: tuple[int, bool] | None = None

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
            self._pending = None
            self._index = LevelIndex(self.level) if self.level else None
            self.follow = True
        self.set_total(total, finished)

    def set_total(self, total: int, finished: bool, *, fetched: bool = False) -> None:
        """The log grew (or the run ended): update the height, follow the end.

        While following, the new last lines are fetched first and the pane grows when they
        arrive: one repaint per growth, and never a row of placeholders at the bottom."""
        if self.follow and self._index is None and total > self.total and not fetched:
            tail = list(range(max(1, total - max(self.size.height, 1) + 1), total + 1))
            if self._blocks.missing(tail):
                self._pending = (total, finished)
                self._request(tail)
                return
        self._pending = None
        grown = total != self.total
        self.total = total
        self.finished = finished
        if self._index is not None:
            self._scan_levels()
        if grown:
            self._resize()
        self._update_title()

    @property
    def settled(self) -> bool:
        """Every visible line is loaded and no fetch or scan is under way (tests wait on it)."""
        with self._lock:
            busy = self._fetching or bool(self._wanted)
        if busy or self._indexing or self._pending is not None:
            return False
        return not self._blocks.missing(self._visible_seqs())

    @property
    def show_stamps(self) -> bool:
        """Times in front of each line: from 100 columns on (the pane's width now)."""
        return self.size.width >= 100

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
        # Scrolls here are forced: Textual ignores a scroll until the layout has shown the
        # scrollbar, and a log opened before that layout would stay at the top.
        self.virtual_size = Size(max(self._width, 1), self.rows)
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
            # The new height reaches the scroll limits at the next refresh; end up there.
            self.call_after_refresh(self._keep_at_end)
        self.refresh()

    def _keep_at_end(self) -> None:
        if self.follow and self.scroll_y != self.max_scroll_y:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)

    def _update_title(self) -> None:
        parts = [f"{self.total:,} line{'s' if self.total != 1 else ''}"]
        if self.level and self._index is not None:
            scanning = "…" if self._index.scanned_to < self.total else ""
            parts.append(f"{Level.name(self.level).lower()}+ ({len(self._index):,}{scanning})")
        parts.append("following" if self.follow else "paused (f to follow)")
        if self.needle:
            parts.append(f"/{self.needle}")
        self.border_title = " · ".join(parts)

    # -- rendering ---------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        style = self.rich_style
        look = (style, self.show_stamps)
        if look != self._strip_style:
            # Cached lines were drawn for another style or width: draw them again.
            self._strips.clear()
            self._strip_style = look
        row = scroll_y + y
        seq = self.seq_at(row)
        if seq is None:
            if row == 0 and self.run_id is not None and self.rows == 0:
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
        if self._index is not None and self.total:
            if self._index.scanned_to < self.total:
                return "looking for matching lines…"
            return f"no {Level.name(self.level).lower()} lines or worse (l: change level)"
        return "no output" if self.finished else "waiting for output…"

    def _message(self, width: int, style: Style, message: str) -> Strip:
        text = Text(message, style=style + Style(dim=True), no_wrap=True)
        return Strip(text.render(self.app.console)).crop_extend(0, width, style)

    def _render(self, line: LogLine, style: Style) -> Strip:
        digits = max(4, len(str(self.total)))
        mark = "▶" if line.seq == self.mark_seq else " "
        stamp = datetime.fromtimestamp(line.ts, self.tz).strftime("%H:%M:%S")
        body_text = line.text
        if not self.needle and line.stream != "event" and body_text.isprintable():
            # Plain text (no ANSI, tabs or control characters, no search): segments
            # directly. Rich's Text rendering cost most of a repaint while following a flood.
            dim = style + Style(dim=True)
            level = LEVEL_STYLE.get(line.level)
            segments = [Segment(f"{line.seq:>{digits}}{mark}", dim)]
            if self.show_stamps:
                segments.append(Segment(f"{stamp} ", dim))
            segments.append(Segment(body_text, style + Style.parse(level) if level else style))
            return Strip(segments)
        text = Text(style=style, no_wrap=True, end="")
        text.append(f"{line.seq:>{digits}}{mark}", style="dim")
        if self.show_stamps:
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
        seqs = [self.seq_at(row) for row in range(top, top + self.size.height)]
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
            self.app.call_from_thread(self._apply_pending, run_id)

    def _apply_pending(self, run_id: int) -> None:
        """Grow to the last total seen, fetched or not (a failed fetch must not stall it)."""
        if self._pending is not None and run_id == self.run_id:
            total, finished = self._pending
            self.set_total(total, finished, fetched=True)

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
        if self._pending is not None:
            total, finished = self._pending
            self.set_total(total, finished)  # applies now if its lines have all arrived
            return
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
            while index.scanned_to < upto and index is self._index:
                found = index.scan(self.store, run_id, upto)
                self.app.call_from_thread(self._indexed, index, found)
        finally:
            self.app.call_from_thread(self._index_done, index)

    def _indexed(self, index: LevelIndex, found: list[int]) -> None:
        if index is self._index:
            if found:
                index.extend(found)
                self._resize()
            self._update_title()
            self.refresh()

    def _index_done(self, index: LevelIndex) -> None:
        # The finished scan may belong to an index a newer level replaced: scan the
        # current one, whichever it is (a second `l` during a scan must not stall it).
        self._indexing = False
        current = self._index
        if current is not None and current.scanned_to < self.total:
            self._scan_levels()

    # -- actions -----------------------------------------------------------------------

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
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
