"""What every console screen shares: live refresh, loading off the UI thread, the top bar,
and the operator keys (run, cancel, retry, …) that act on the screen's selection.

Screens say what is selected (`selected_task`, `selected_runs`); the keys here work the
same everywhere and are hidden from the footer where they do not apply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import get_current_worker

from duftui.store.dashboard import DaemonState, Pulse
from duftui.store.states import RunStatus
from duftui.store.tables import Run
from duftui.tui.errors import ReportsWorkerErrors
from duftui.tui.operator import ActionError, Outcome
from duftui.tui.session import Session

if TYPE_CHECKING:
    from duftui.tui.app import DuftuiApp

T = TypeVar("T")


def key(
    keys: str, action: str, description: str, tooltip: str, id: str, show: bool = True
) -> Binding:
    """A binding with an id (users can remap it) and a longer text for the palette."""
    return Binding(keys, action, description, show=show, tooltip=tooltip, id=id)


# The footer lists keys in this order; at 80 columns the first ones always fit.
NAV_KEYS = [
    key("question_mark", "app.help", "Help", "Show every key of this screen", "help"),
    key("q", "app.back", "Back", "Go back (quit on the Dashboard)", "back"),
]
HOME_KEYS = [NAV_KEYS[0], key("q", "app.back", "Quit", "Quit the console", "back")]
RUN_KEYS = [
    key("r", "run", "Run", "Run the selected task (or project) now", "run"),
    key(
        "R", "run_with_params", "Params", "Run the selected task with parameters", "run-with-params"
    ),
    key("c", "cancel_run", "Cancel", "Cancel the selected run(s)", "cancel"),
    key("t", "retry", "Retry", "Queue the selected finished run(s) again now", "retry"),
    key(
        "x",
        "cancel_retry",
        "No retry",
        "Cancel the waiting retry of the selected run(s)",
        "cancel-retry",
    ),
    key("a", "acknowledge", "Ack", "Acknowledge the selected dead run(s)", "acknowledge"),
]
ACK_ALL_KEY = key(
    "A", "acknowledge_all", "Ack all", "Acknowledge every dead run (asks first)", "acknowledge-all"
)
TAB_KEYS = [
    key("greater_than_sign", "next_tab", "Next tab", "Show the next tab", "next-tab", show=False),
    key(
        "less_than_sign",
        "previous_tab",
        "Prev tab",
        "Show the previous tab",
        "previous-tab",
        show=False,
    ),
]
EDIT_KEYS = [
    key("e", "edit('edit')", "Edit", "Edit the selected definition", "edit"),
    key("n", "edit('new')", "New", "Create a new task or project", "new"),
    key(
        "d",
        "edit('duplicate')",
        "Dup",
        "Duplicate the selected task (created disabled)",
        "duplicate",
    ),
    key("delete", "edit('delete')", "Delete", "Delete the selected definition", "delete"),
    key("s", "edit('reschedule')", "Sched", "Change the selected task's schedules", "reschedule"),
]
TRASH_KEY = key("T", "app.open_trash", "Trash", "Deleted definitions, to restore", "trash")
CONNECTIONS_KEY = key(
    "C", "app.open_connections", "Connections", "Edit connections", "connections"
)


class ConsoleScreen(ReportsWorkerErrors, Screen[None]):
    """Base class: subclasses implement `reload()` and, optionally, `on_pulse()`."""

    TITLE = ""
    EDITS = False  # whether the definition keys (e, n, d, delete, s) apply here

    BINDINGS: ClassVar[list[BindingType]] = []  # each screen lists its keys in order

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
        # Textual calls this after the subclass's own on_mount (handlers run down the MRO).
        self.watch(self.app, "pulse", self._pulse_changed, init=False)
        self.sub_title = self.TITLE
        self._seen = self.console.pulse  # this first load is at least as new as the pulse
        self.reload()

    def on_screen_resume(self) -> None:
        if self._stale:
            self._stale = False
            self._seen = self.console.pulse
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

        self.run_worker(
            job,
            thread=True,
            exclusive=True,
            group=group,
            exit_on_error=False,
            name=f"loading {group}",
        )

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
                return any(RunStatus(r.status).finished for r in runs)
            if action == "cancel_retry":
                return any(RunStatus(r.status).failed or r.retry_of for r in runs)
            return any(r.dead and r.acknowledged_at is None for r in runs)
        if action == "edit":
            from duftui.tui.forms.actions import edit_allowed

            return edit_allowed(self, str(parameters[0])) if parameters else self.EDITS
        return True

    # -- operator keys -------------------------------------------------------------------

    def perform(self, label: str, action: Callable[[], Outcome]) -> None:
        """Run an operator action in a worker; report the outcome as a notification."""

        def job() -> None:
            try:
                outcome = action()
            except ActionError as exc:
                self.app.call_from_thread(
                    self.notify, str(exc), title=label, severity="error", timeout=8
                )
                return
            self.app.call_from_thread(self.console.after_action, outcome, label)

        self.run_worker(job, thread=True, group="action", exit_on_error=False)

    def why_not(self, action: str) -> str | None:
        """Why a key does nothing for the current selection (said instead of nothing)."""
        runs = self.selected_runs()
        if action not in ("cancel_run", "retry", "cancel_retry", "acknowledge"):
            return None
        if not runs:
            return "select a run first"
        which = f"run #{runs[0].id}" if len(runs) == 1 else "none of the selected runs"
        state = f" ({runs[0].status})" if len(runs) == 1 else ""
        return {
            "cancel_run": f"nothing to cancel: {which} has ended{state}",
            "retry": f"nothing to retry: {which} has not ended{state}",
            "cancel_retry": f"no retry is waiting for {which}{state}",
            "acknowledge": f"only dead runs need acknowledging: {which} is not dead{state}",
        }[action].replace("none of the selected runs has", "none of the selected runs have")

    def clear_selection(self) -> None:
        """After a bulk action: unmark the runs, so the next key does not repeat it."""

    def confirm(self, question: str, yes: str, then: Callable[[], None]) -> None:
        from duftui.tui.screens.confirm import ConfirmScreen

        def answered(answer: bool | None) -> None:
            if answer:
                then()

        self.app.push_screen(ConfirmScreen(question, yes=yes, no="Don't"), answered)

    def action_run(self) -> None:
        key = self.selected_task()
        if key is None:
            project = self.selected_project()
            if project:
                self._run_project(project)
            return
        entry = self.session.catalogue().tasks.get(key)
        if entry is not None and entry.spec is not None and not entry.broken:
            from duftui.engine.params import declared_params

            declared = declared_params(self.session.catalogue(), entry)
            if any(param.prompt for param, _ in declared.values()):
                self.action_run_with_params()
                return
        self.perform("Run", lambda: self.console.operator.run_task(key))

    def _run_project(self, project: str) -> None:
        catalogue = self.session.catalogue()
        tasks = [
            e.key for e in catalogue.project_tasks(project)
            if e.spec is not None and e.spec.enabled and not e.broken
        ]
        spec = catalogue.projects[project].spec if project in catalogue.projects else None
        how = "one after another" if spec is not None and spec.sequence_tasks else "as one batch"
        self.confirm(
            f"Run project {project}: {len(tasks)} enabled task{'s' if len(tasks) != 1 else ''} "
            f"{how}?",
            "Run project",
            lambda: self.perform("Run", lambda: self.console.operator.run_project(project)),
        )

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
        runs = [
            r for r in self.selected_runs() if r.status in (RunStatus.QUEUED, RunStatus.RUNNING)
        ]
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
                self.clear_selection()
                self.perform("Cancel", lambda: self.console.operator.cancel(ids))

        self.app.push_screen(
            ConfirmScreen(
                question, yes="Cancel run" + ("s" if len(ids) > 1 else ""), no="Keep running"
            ),
            confirmed,
        )

    def action_retry(self) -> None:
        ids = [int(r.id or 0) for r in self.selected_runs() if RunStatus(r.status).finished]
        if not ids:
            self.notify(self.why_not("retry") or "", severity="warning")
            return

        def retry() -> None:
            self.clear_selection()
            self.perform("Retry", lambda: self.console.operator.retry(ids))

        if len(ids) == 1:
            retry()
        else:
            self.confirm(f"Retry {len(ids)} runs now?", "Retry them", retry)

    def action_cancel_retry(self) -> None:
        ids = [int(r.id or 0) for r in self.selected_runs()]
        if ids:
            self.clear_selection()
            self.perform("Cancel retry", lambda: self.console.operator.cancel_retry(ids))

    def action_acknowledge(self) -> None:
        ids = [int(r.id or 0) for r in self.selected_runs() if r.dead]
        if not ids:
            self.notify(self.why_not("acknowledge") or "", severity="warning")
            return
        self.clear_selection()
        self.perform("Acknowledge", lambda: self.console.operator.acknowledge(ids))

    def action_acknowledge_all(self) -> None:
        """Every dead run nobody acknowledged, after one question."""
        from duftui.store.attention import unacknowledged_dead

        store = self.session.store()

        def counted(ids: list[int]) -> None:
            if not ids:
                self.notify("no dead runs wait for acknowledging", timeout=4)
                return
            self.confirm(
                f"Acknowledge all {len(ids)} dead run{'s' if len(ids) != 1 else ''}? "
                "They leave Needs attention.",
                "Acknowledge all",
                lambda: self.perform("Acknowledge", lambda: self.console.operator.acknowledge(ids)),
            )

        def query() -> list[int]:
            with store.read() as conn:
                return unacknowledged_dead(conn)

        self.load(query, counted, group="acknowledge-all")

    def action_next_tab(self, step: int = 1) -> None:
        from textual.widgets import TabbedContent, TabPane

        for tabs in self.query(TabbedContent):
            panes = [pane.id for pane in tabs.query(TabPane) if pane.id]
            if panes and tabs.active in panes:
                tabs.active = panes[(panes.index(tabs.active) + step) % len(panes)]
                return

    def action_previous_tab(self) -> None:
        self.action_next_tab(-1)

    def action_edit(self, what: str) -> None:
        """e, n, d, delete, s: the definition forms and file operations (forms/actions)."""
        from duftui.tui.forms.actions import run_edit

        run_edit(self, what)
