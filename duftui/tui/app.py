"""The console application: wires screens, bindings, styles and the live services."""

from __future__ import annotations

import gc
from collections.abc import Iterable
from datetime import tzinfo
from functools import partial
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.screen import ModalScreen, Screen

from duftui.context import Context
from duftui.store.dashboard import DAEMON_RUNNING, DaemonState, Pulse
from duftui.tui import lifecycle, settings
from duftui.tui.embedded import EmbeddedRunner
from duftui.tui.errors import ReportsWorkerErrors
from duftui.tui.operator import Operator, Outcome
from duftui.tui.screens.base import ConsoleScreen
from duftui.tui.screens.dashboard import DashboardScreen
from duftui.tui.screens.history import HistoryScreen
from duftui.tui.screens.projects import ProjectsScreen
from duftui.tui.screens.tasks import TasksScreen
from duftui.tui.session import Session
from duftui.tui.watcher import DEFAULT_INTERVAL, StoreWatcher

THEMES = ("textual-dark", "textual-light")


class DuftuiApp(ReportsWorkerErrors, App[None]):
    """Dashboard, Projects, Tasks and History are modes (each keeps its own stack);
    Task and Run screens are pushed on top, and `q` goes back."""

    TITLE = "duftui"
    CSS_PATH: ClassVar[list[str]] = ["app.tcss", "forms/forms.tcss"]
    MODES: ClassVar[dict[str, Any]] = {
        "dashboard": DashboardScreen,
        "projects": ProjectsScreen,
        "tasks": TasksScreen,
        "history": HistoryScreen,
    }
    DEFAULT_MODE = "dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", show=False, id="help"),
        Binding("q", "back", "Back", show=False, id="back"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="quit"),
        Binding("1", "go('dashboard')", "Dashboard", show=False, id="dashboard"),
        Binding("2", "go('projects')", "Projects", show=False, id="projects"),
        Binding("3", "go('tasks')", "Tasks", show=False, id="tasks"),
        Binding("4", "go('history')", "History", show=False, id="history"),
        Binding(
            "ctrl+k,g", "find", "Go to", tooltip="Go anywhere: a screen, project, task or run",
            id="go-anywhere",
        ),
        Binding("ctrl+t", "toggle_theme", "Light/dark", show=False, id="toggle-theme"),
        Binding("ctrl+r", "reload_definitions", "Reload", show=False, id="reload"),
    ]

    pulse: var[Pulse | None] = var(None, always_update=False)
    daemon: var[DaemonState | None] = var(None)
    embedded_running: var[int] = var(0)

    def __init__(
        self,
        session: Session,
        *,
        initial_mode: str = "dashboard",
        watch_interval: float = DEFAULT_INTERVAL,
        runner_poll: float = 0.1,
        run_queued: bool = True,
    ) -> None:
        self.DEFAULT_MODE = initial_mode  # read by App.__init__: open straight on this mode
        super().__init__()
        self.session = session
        self.operator = Operator(session)
        self.runner = EmbeddedRunner(session, poll_interval=runner_poll)
        self.watcher = StoreWatcher(session.store(), self._deliver, interval=watch_interval)
        self.workspace_name = session.workspace.name
        self.quit_when_idle = False
        self.run_queued = run_queued  # run queued work when no daemon does (off: view only)
        self.adopting = False
        self.starting_runner = False
        self._finder_cache: dict[int, Any] = {}

    def on_mount(self) -> None:
        # Startup leaves ~100k long-lived objects (Textual, SQLAlchemy, pydantic); freezing
        # them keeps full garbage collections short while a flood allocates (measured:
        # 200-600 ms pauses without it).
        self.call_after_refresh(gc.freeze)
        saved_theme = settings.load().get("theme")
        if saved_theme in self.available_themes:
            self.theme = saved_theme
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        self.run_worker(
            self.watcher.run,
            thread=True,
            group="watcher",
            exit_on_error=False,
            name="store watcher",
        )

    def on_unmount(self) -> None:
        self.watcher.stop()
        self.runner.shutdown()

    # -- live state ------------------------------------------------------------------------

    def _deliver(self, pulse: Pulse, daemon: DaemonState) -> None:
        """From the watcher thread: hand the new state to the UI thread."""
        if not self.is_running or self._exit:
            self.watcher.stop()  # the app is closing
            return
        self._from_thread(self._update, pulse, daemon)

    def _update(self, pulse: Pulse, daemon: DaemonState) -> None:
        if daemon != self.daemon:
            self.daemon = daemon
            if daemon.status == DAEMON_RUNNING and self.runner.active:
                self.runner.stop_claiming()  # the daemon takes over new work
            if isinstance(self.screen, ConsoleScreen):
                self.screen.on_daemon(daemon)
        self.runner.observe([(run.id, run.status, run.supervisor) for run in pulse.active])
        self.embedded_running = len(self.runner.running_ids)
        self.pulse = pulse
        if any(run.status == "queued" for run in pulse.active):
            lifecycle.adopt_queued_later(self)
        if self.quit_when_idle and not self.runner.active:
            self.exit()

    def after_action(self, outcome: Outcome, label: str) -> None:
        """An operator action finished: say what happened; run the work if nobody will."""
        severity = "warning" if outcome.errors and not outcome.run_ids else "information"
        self.notify(outcome.message, title=label, severity=severity)
        if outcome.needs_runner:
            self.ensure_runner()
        else:
            self.runner.kick()
        self.watcher.poke()

    def ensure_runner(self) -> None:
        lifecycle.ensure_runner(self)

    def _from_thread(self, callback: Any, *args: Any) -> None:
        """`call_from_thread`, unless the app has already closed (then there is no one
        left to tell)."""
        if not self.is_running or self._exit:
            return
        try:
            self.call_from_thread(callback, *args)
        except RuntimeError:
            pass

    async def run_action(
        self,
        action: Any,
        default_namespace: Any = None,
        namespaces: Any = None,
    ) -> bool:
        """A key whose action does not apply to the selection says why, instead of
        nothing (`c` on a finished run, `D` while a daemon runs)."""
        if isinstance(action, str):
            target, name, params = self._parse_action(
                action, self if default_namespace is None else default_namespace, namespaces
            )
            if not target.check_action(name, params):
                why_not = getattr(target, "why_not", None)
                message = why_not(name) if callable(why_not) else None
                if message:
                    self.notify(message, severity="warning", timeout=5)
                    return True
        return await super().run_action(action, default_namespace, namespaces)

    # -- navigation ------------------------------------------------------------------------

    def open_run(self, run_id: int) -> None:
        from duftui.tui.screens.run import RunScreen

        self.push_screen(RunScreen(run_id))

    def open_task(self, key: str) -> None:
        from duftui.tui.screens.task import TaskScreen

        self.push_screen(TaskScreen(key))

    def open_project(self, project: str) -> None:
        self.push_screen(TasksScreen(project=project))

    async def action_go(self, mode: str) -> None:
        """1-4: the main screen itself, not the task or run last opened on top of it."""
        if self.current_mode != mode:
            await self.switch_mode(mode)
        while len(self.screen_stack) > 1 and not isinstance(self.screen, ModalScreen):
            self.pop_screen()

    def action_find(self) -> None:
        from duftui.tui.screens.finder import FinderScreen, index_for

        if isinstance(self.screen, ModalScreen):
            return
        index = index_for(self.session, self._finder_cache)
        self.push_screen(FinderScreen(self.session, index), self._go_to)

    def _go_to(self, target: Any) -> None:
        if target is None:
            return
        if target.kind == "screen":
            if target.key in self.MODES:
                self.run_worker(self.action_go(target.key), exit_on_error=False)
            elif target.key == "connections":
                self.action_open_connections()
            else:
                self.action_open_trash()
        elif target.kind == "project":
            self.open_project(target.key)
        elif target.kind == "task":
            self.open_task(target.key)
        elif target.kind == "run":
            self.open_run(int(target.key))

    def action_back(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()
        elif self.current_mode != "dashboard":
            self.switch_mode("dashboard")
        else:
            self.run_worker(self.action_quit(), exit_on_error=False)

    async def action_quit(self) -> None:
        lifecycle.request_quit(self)

    def action_help(self) -> None:
        from duftui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def _remember_theme(self, theme: Any) -> None:
        """The theme chosen (ctrl+t or the palette) is the next session's theme too."""
        settings.save("theme", theme.name)

    def action_toggle_theme(self) -> None:
        self.theme = THEMES[1] if self.theme == THEMES[0] else THEMES[0]

    def action_reload_definitions(self) -> None:
        lifecycle.reload_definitions(self)

    def reload_quietly(self) -> None:
        """Reload after this console wrote a definition (its own toast said so already)."""
        lifecycle.reload_definitions(self, announce=False)

    def action_start_daemon(self) -> None:
        lifecycle.start_daemon(self)

    def action_open_trash(self) -> None:
        from duftui.tui.forms.trash_screen import TrashScreen

        if not isinstance(self.screen, TrashScreen):
            self.push_screen(TrashScreen())

    def action_open_connections(self) -> None:
        from duftui.tui.forms.connections_screen import ConnectionsScreen

        if not isinstance(self.screen, ConnectionsScreen):
            self.push_screen(ConnectionsScreen())

    # -- errors and the palette ------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every key of the current screen is also a command in the palette."""
        yield from super().get_system_commands(screen)
        seen: set[str] = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or not active.enabled or binding.action in seen:
                continue
            if binding.action in ("quit", "help_quit", "command_palette"):
                continue
            seen.add(binding.action)
            title = binding.tooltip or binding.description
            yield SystemCommand(
                f"{title} ({self.get_key_display(binding)})",
                f"key {key}",
                partial(self.run_action, binding.action, active.node),
            )
        yield SystemCommand(
            "Start the daemon", "duftui daemon --detach (schedules fire)", self.action_start_daemon
        )
        yield SystemCommand(
            "Connections", "Add, edit or delete connections", self.action_open_connections
        )
        yield SystemCommand(
            "Trash", "Restore deleted tasks and connections", self.action_open_trash
        )


def create_app(
    ctx: Context, *, clock: Any = None, tz: tzinfo | None = None, **options: Any
) -> DuftuiApp:
    """The app factory the CLI, tests and benchmarks share (tests freeze clock and zone)."""
    session = Session(ctx)
    if clock is not None:
        session.clock = clock if callable(clock) else (lambda: clock)
    if tz is not None:
        session.tz = tz
    return DuftuiApp(session, **options)
