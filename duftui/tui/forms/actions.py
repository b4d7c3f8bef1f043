"""The definition keys (`e` edit, `n` new, `d` duplicate, `delete`, `s` reschedule) on
the screens that show tasks, projects or connections.

Forms return what they saved; the file operations without a form (duplicate, delete,
restore) run in worker threads. Either way the console then reloads its definitions
(the ctrl+r mechanism), so every screen shows the change; a daemon sees the files
change by itself. The core writes the audit rows (it is given the store and the user).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from duftui.definitions.editing import (
    EditError,
    InUse,
    SaveResult,
    delete_connection,
    delete_task,
    duplicate_task,
)
from duftui.tui.forms.base_form import on_saved

if TYPE_CHECKING:
    from duftui.tui.app import DuftuiApp
    from duftui.tui.screens.base import ConsoleScreen

TASK_ACTIONS = ("edit", "new", "duplicate", "delete", "reschedule")
WHAT = {"edit": "Edit", "new": "New", "duplicate": "Duplicate", "delete": "Delete",
        "reschedule": "Reschedule"}  # fmt: skip


def target_kind(screen: ConsoleScreen) -> str | None:
    """What the screen's definition keys act on: "task", "project" or "connection"."""
    from duftui.tui.screens.projects import ProjectsScreen

    if isinstance(screen, ProjectsScreen):
        return "project"
    explicit = getattr(screen, "EDIT_TARGET", None)
    if explicit:
        return str(explicit)
    return "task" if screen.EDITS else None


def edit_allowed(screen: ConsoleScreen, what: str) -> bool:
    """Whether `what` applies on this screen with its current selection (hides the key)."""
    kind = target_kind(screen)
    if kind == "task":
        return what == "new" or screen.selected_task() is not None
    if kind == "project":
        return what == "new" or (what == "edit" and screen.selected_project() is not None)
    if kind == "connection":
        selected = getattr(screen, "selected_connection", lambda: None)()
        return what == "new" or (what in ("edit", "delete") and selected is not None)
    return False


def run_edit(screen: ConsoleScreen, what: str) -> None:
    kind = target_kind(screen)
    if kind == "task":
        _task(screen, what)
    elif kind == "project":
        _project(screen, what)
    elif kind == "connection":
        _connection(screen, what)


# -- shared --------------------------------------------------------------------------------


def saved(app: DuftuiApp, result: SaveResult, verb: str = "saved") -> None:
    """Say what was written, then reload the definitions so every screen shows it."""
    message = f"{verb} {result.rel}" if result.changed else f"no change to {result.rel}"
    warnings = [str(p) for p in result.problems]
    if warnings:
        message += "\n" + "\n".join(warnings[:3])
    app.notify(message, title=verb.capitalize(), severity="warning" if warnings else "information")
    app.reload_quietly()


def in_thread(
    app: DuftuiApp, label: str, job: Callable[[], Any], done: Callable[[Any], None]
) -> None:
    """Run a file operation off the UI thread; an EditError becomes a notification."""

    def work() -> None:
        try:
            result = job()
        except InUse as exc:
            app.call_from_thread(done, exc)
            return
        except EditError as exc:
            app.call_from_thread(app.notify, str(exc), title=label, severity="error", timeout=10)
            return
        app.call_from_thread(done, result)

    app.run_worker(work, thread=True, group="edit", exit_on_error=False, name=label.lower())


def confirm(app: DuftuiApp, question: str, yes: str, then: Callable[[], None]) -> None:
    from duftui.tui.screens.confirm import ConfirmScreen

    def answered(answer: bool | None) -> None:
        if answer:
            then()

    app.push_screen(ConfirmScreen(question, yes=yes, no="Keep it"), answered)


def delete_flow(
    app: DuftuiApp, what: str, remove: Callable[[bool], Any], after: Callable[[], None]
) -> None:
    """Ask, delete; when others use it (InUse), name them and ask again before forcing."""

    def attempt(force: bool) -> None:
        def done(result: Any) -> None:
            if isinstance(result, InUse):
                question = (
                    f"{what} is still used by {', '.join(result.users)}. Delete it anyway? "
                    "Their definitions will report it missing."
                )
                confirm(app, question, "Delete anyway", lambda: attempt(True))
                return
            app.notify(
                f"{what} moved to the trash ({result.id}); restore it from the Trash (T)",
                title="Deleted",
            )
            after()
            app.reload_quietly()

        in_thread(app, "Delete", lambda: remove(force), done)

    confirm(
        app,
        f"Delete {what}? It moves to the trash under .duftui/trash/ and can be restored; "
        "its run history is kept.",
        "Delete",
        lambda: attempt(False),
    )


# -- per kind ------------------------------------------------------------------------------


def _task(screen: ConsoleScreen, what: str) -> None:
    from duftui.tui.forms.reschedule_form import RescheduleForm
    from duftui.tui.forms.task_form import TaskForm

    app = screen.console
    session = screen.session
    key = screen.selected_task()
    if what == "new":
        project = getattr(screen, "project", None) or (key.split("/", 1)[0] if key else "")
        if not session.catalogue().projects:
            app.notify("create a project first (Projects, n)", severity="warning")
            return
        app.push_screen(TaskForm(session, None, project), on_saved(lambda r: saved(app, r)))
        return
    if key is None:
        return
    entry = session.catalogue().tasks.get(key)
    if entry is None:
        app.notify(f"there is no task {key} any more", severity="warning")
        return
    if what == "edit":
        form = TaskForm(session, key)
        if not form.readable:
            first = form.opened_problems[0] if form.opened_problems else entry.rel
            app.notify(f"fix it in an editor first: {first}", title="Cannot edit", severity="error")
            return
        app.push_screen(form, on_saved(lambda r: saved(app, r)))
    elif what == "reschedule":
        app.push_screen(RescheduleForm(session, key), on_saved(lambda r: saved(app, r)))
    elif what == "duplicate":
        in_thread(
            app,
            "Duplicate",
            lambda: duplicate_task(
                session.workspace, key, user=session.user, store=session.store()
            ),
            lambda r: saved(app, r, "duplicated as (disabled)"),
        )
    elif what == "delete":

        def after() -> None:
            if getattr(app.screen, "key", None) == key and len(app.screen_stack) > 1:
                app.pop_screen()  # the Task screen of a task that is gone

        delete_flow(
            app,
            f"task {key}",
            lambda force: delete_task(
                session.workspace, key, user=session.user, store=session.store(), force=force
            ),
            after,
        )


def _project(screen: ConsoleScreen, what: str) -> None:
    from duftui.tui.forms.project_form import ProjectForm

    app = screen.console
    if what == "new":
        app.push_screen(ProjectForm(screen.session), on_saved(lambda r: saved(app, r)))
    elif what == "edit" and (project := screen.selected_project()):
        app.push_screen(ProjectForm(screen.session, project), on_saved(lambda r: saved(app, r)))


def _connection(screen: ConsoleScreen, what: str) -> None:
    from duftui.tui.forms.connection_form import ConnectionForm

    app = screen.console
    session = screen.session
    name = getattr(screen, "selected_connection", lambda: None)()
    if what == "new":
        app.push_screen(ConnectionForm(session), on_saved(lambda r: saved(app, r)))
    elif what == "edit" and name:
        app.push_screen(ConnectionForm(session, name), on_saved(lambda r: saved(app, r)))
    elif what == "delete" and name:
        delete_flow(
            app,
            f"connection {name}",
            lambda force: delete_connection(
                session.workspace, name, user=session.user, store=session.store(), force=force
            ),
            lambda: None,
        )
