"""The one-line bar at the top of every screen: where you are, and who runs the work."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from duftui.store.dashboard import DAEMON_RUNNING, DAEMON_STALE, DaemonState


def daemon_text(state: DaemonState | None, embedded: int) -> Text:
    """ "daemon ● running", "daemon ○ not running · console runs 2"."""
    text = Text()
    if state is None:
        text.append("daemon …", style="dim")
    elif state.status == DAEMON_RUNNING:
        text.append("daemon ", style="dim").append("● running", style="green")
    elif state.status == DAEMON_STALE:
        text.append("daemon ", style="dim").append("◌ stale", style="bold yellow")
    else:
        text.append("daemon ", style="dim").append("○ not running", style="yellow")
    if embedded:
        text.append(" · ", style="dim").append(f"console runs {embedded}", style="cyan")
    return text


class TopBar(Static):
    """Shows the screen's title and the daemon / embedded supervisor status."""

    DEFAULT_CSS = """
    TopBar { dock: top; height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    def __init__(self, title: str) -> None:
        super().__init__(id="top-bar")
        self.title = title

    def on_mount(self) -> None:
        self.watch(self.app, "daemon", self._changed, init=False)
        self.watch(self.app, "embedded_running", self._changed, init=False)
        self._changed()

    def _changed(self, *_: object) -> None:
        app = self.app
        state = getattr(app, "daemon", None)
        embedded = getattr(app, "embedded_running", 0)
        grid = Table.grid(expand=True)
        grid.add_column(no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        name = getattr(app, "workspace_name", "")
        left = Text()
        left.append("duftui", style="bold").append(" ▸ ", style="dim").append(self.title)
        if name:
            left.append(f"  {name}", style="dim")
        right = Text()
        session = getattr(app, "session", None)
        if session is not None:  # every time on screen is on this clock
            from duftui.tui.format import zone_name

            right.append(f"times {zone_name(session.tz, session.now())}", style="dim")
            right.append(" · ", style="dim")
        right.append_text(daemon_text(state, embedded))
        grid.add_row(left, right)
        self.update(grid)
