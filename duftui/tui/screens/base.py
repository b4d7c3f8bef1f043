"""What every console screen shares: live refresh, loading off the UI thread, the top bar,
and the operator keys (run, cancel, retry, …) that act on the screen's selection.

Screens say what is selected (`selected_task`, `selected_runs`); the keys here work the
same everywhere and are hidden from the footer where they do not apply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.binding import Binding
from textual.screen import Screen
from textual.worker import get_current_worker

from duftui.store.dashboard import DaemonState, Pulse
from duftui.store.states import RunStatus
from duftui.store.tables import Run
from duftui.tui.operator import ActionError, Outcome
from duftui.tui.session import Session

if TYPE_CHECKING:
    from duftui.tui.app import DuftuiApp

T = TypeVar("T")

EDITING_LATER = (
    "Editing definitions in forms comes in a later version of duftui. "
    "For now, edit the TOML under tasks/ and press ctrl+r to reload."
)


class ConsoleScreen(Screen[None]):
    """Base class: subclasses implement `reload()` and, optionally, `on_pulse()`."""

    TITLE = ""
    EDITS = False  # whether the definition keys (e, n, d, delete, s) apply here

    BINDINGS = [
        Binding("r", "run", "Run", id="run"),
        Binding("R", "run_with_params", "Run with…", id="run-with-params"),
        Binding("c", "cancel_run", "Cancel", id="cancel"),
        Binding("t", "retry", "Retry", id="retry"),
        Binding("x", "cancel_retry", "Cancel retry", id="cancel-retry"),
        Binding("a", "acknowledge", "Acknowledge", show=False, id="acknowledge"),
        Binding("e", "edit('edit')", "Edit", id="edit"),
        Binding("n", "edit('new')", "New", show=False, id="new"),
        Binding("d", "edit('duplicate')", "Duplicate", show=False, id="duplicate"),
        Binding("delete", "edit('delete')", "Delete", show=False, id="delete"),
        Binding("s", "edit('reschedule')", "Reschedule", show=False, id="reschedule"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._seen: Pulse | None = None
        self._stale = False
        self.ready = False  # the first load finished (tests and the bench wait on it)

    # -- shared state --------------------------------------------------------------------

    @property
    def console(self) -> DuftuiApp:
        return self.app  # type: ignore[return-value]

    @property
    def session(self) -> Session:
        return self.console.session

    def on_mount(self) -> None:
        self.watch(self.app, "pulse", self._pulse_changed, init=False)
        self.sub_title = self.TITLE
        self.reload()

    def on_screen_resume(self) -> None:
        if self._stale:
            self._stale = False
            self.reload()
        self.refresh_bindings()

    def _pulse_changed(self, pulse: Pulse | None) -> None:
        if pulse is None:
            return
        if not self.is_current:
            self._stale = self._stale or pulse.runs_changed(self._seen)
            return
        previous, self._seen = self._seen, pulse
        self.on_pulse(pulse, previous)

    def on_pulse(self, pulse: Pulse, previous: Pulse | None) -> None:
        """The store changed; re-query what this screen shows if it may differ."""
        if pulse.runs_changed(previous):
            self.reload()

    def on_daemon(self, state: DaemonState) -> None:
        """The daemon's status changed (only the Dashboard shows more than the top bar)."""

    def reload(self) -> None:
        """Start (re)loading this screen's data; must not block."""

    def load(self, query: Callable[[], T], apply: Callable[[T], None], group: str) -> None:
        """Run `query` in a worker thread, then `apply` its result on the UI thread.

        A newer load of the same group supersedes an older one still running."""

        def job() -> None:
            result = query()
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(self._apply, apply, result)

        self.run_worker(job, thread=True, exclusive=True, group=group, exit_on_error=False)

    def _apply(self, apply: Callable[[T], None], result: T) -> None:
        if self.is_attached:
            apply(result)
            self.ready = True

    # -- what the operator keys act on ---------------------------------------------------

    def selected_task(self) -> str | None:
        """The task `r` runs (or None)."""
        return None

    def selected_project(self) -> str | None:
        """The project `r` runs when no task is selected."""
        return None

    def selected_runs(self) -> list[Run]:
        """The runs `c`, `t`, `x` and `a` act on."""
        return []

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run":
            return bool(self.selected_task() or self.selected_project())
        if action == "run_with_params":
            return bool(self.selected_task())
        if action in ("cancel_run", "retry", "cancel_retry", "acknowledge"):
            runs = self.selected_runs()
            if not runs:
                return False
            if action == "cancel_run":
                return any(r.status in (RunStatus.QUEUED, RunStatus.RUNNING) for r in runs)
            if action == "retry":
                return any(RunStatus(r.status).finished for r in runs) or None
            if action == "cancel_retry":
                return any(RunStatus(r.status).failed or r.retry_of for r in runs) or None
            return any(r.dead and r.acknowledged_at is None for r in runs)
        if action == "edit":
            return self.EDITS
        return True

    # -- operator keys -------------------------------------------------------------------

    def perform(self, label: str, action: Callable[[], Outcome]) -> None:
        """Run an operator action in a worker; report the outcome as a notification."""

        def job() -> None:
            try:
                outcome = action()
            except ActionError as exc:
                self.app.call_from_thread(self.notify, str(exc), title=label, severity="error",
                                          timeout=8)
                return
            self.app.call_from_thread(self.console.after_action, outcome, label)

        self.run_worker(job, thread=True, group="action", exit_on_error=False)

    def action_run(self) -> None:
        key = self.selected_task()
        if key is None:
            project = self.selected_project()
            if project:
                self.perform("Run", lambda: self.console.operator.run_project(project))
            return
        entry = self.session.catalogue().tasks.get(key)
        if entry is not None and entry.spec is not None and not entry.broken:
            from duftui.engine.params import declared_params

            declared = declared_params(self.session.catalogue(), entry)
            if any(param.prompt for param, _ in declared.values()):
                self.action_run_with_params()
                return
        self.perform("Run", lambda: self.console.operator.run_task(key))

    def action_run_with_params(self) -> None:
        key = self.selected_task()
        if key is None:
            return
        from duftui.tui.screens.params import ParamsScreen

        def chosen(overrides: dict[str, Any] | None) -> None:
            if overrides is not None:
                self.perform("Run", lambda: self.console.operator.run_task(key, overrides))

        self.app.push_screen(ParamsScreen(self.session, key), chosen)

    def action_cancel_run(self) -> None:
        runs = [r for r in self.selected_runs()
                if r.status in (RunStatus.QUEUED, RunStatus.RUNNING)]
        if not runs:
            self.notify("nothing to cancel: the selected run has ended", severity="warning")
            return
        from duftui.tui.screens.confirm import ConfirmScreen

        if len(runs) == 1:
            run = runs[0]
            question = f"Cancel run #{run.id} of {run.task_key} ({run.status})?"
        else:
            question = f"Cancel {len(runs)} queued or running runs?"
        ids = [int(r.id or 0) for r in runs]

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.perform("Cancel", lambda: self.console.operator.cancel(ids))

        self.app.push_screen(
            ConfirmScreen(question, yes="Cancel run" + ("s" if len(ids) > 1 else ""),
                          no="Keep running"),
            confirmed,
        )

    def action_retry(self) -> None:
        ids = [int(r.id or 0) for r in self.selected_runs() if RunStatus(r.status).finished]
        if not ids:
            self.notify("nothing to retry: the selected run has not ended", severity="warning")
            return
        self.perform("Retry", lambda: self.console.operator.retry(ids))

    def action_cancel_retry(self) -> None:
        ids = [int(r.id or 0) for r in self.selected_runs()]
        if ids:
            self.perform("Cancel retry", lambda: self.console.operator.cancel_retry(ids))

    def action_acknowledge(self) -> None:
        ids = [int(r.id or 0) for r in self.selected_runs() if r.dead]
        if not ids:
            self.notify("only dead runs need acknowledging", severity="warning")
            return
        self.perform("Acknowledge", lambda: self.console.operator.acknowledge(ids))

    def action_edit(self, what: str) -> None:
        self.notify(EDITING_LATER, title=f"{what.capitalize()}: not yet", timeout=6)
