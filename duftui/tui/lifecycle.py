"""App-level flows that are more than wiring: quitting with embedded runs, reloading
definitions, starting a daemon in the background."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import text

from duftui.schedule.lease import daemon_alive
from duftui.store.dashboard import DAEMON_RUNNING
from duftui.store.timestamps import to_iso, utcnow
from duftui.tui.embedded import QUIT_REASON
from duftui.tui.screens.quit import CANCEL, LEAVE, WAIT, QuitScreen

if TYPE_CHECKING:
    from duftui.tui.app import DuftuiApp


def request_quit(app: DuftuiApp) -> None:
    """Quit at once unless this console's supervisor has work that would be lost."""
    runner = app.runner
    running = len(runner.refresh_running())
    daemon = app.daemon is not None and app.daemon.status == DAEMON_RUNNING
    queued = 0 if daemon or not runner.active else runner.queued_count()
    if running == 0 and queued == 0:
        app.exit()
        return
    if app.quit_when_idle:
        app.notify(
            "still waiting for the console's runs to end; ctrl+q again cancels them",
            severity="warning",
        )
        _cancel_running(app)
        return

    def chosen(choice: str | None) -> None:
        if choice == LEAVE:
            runner.stop_claiming()  # its running runs finish in the background
            app.exit(message=left_behind(running, queued))
        elif choice == WAIT:
            app.quit_when_idle = True
            runner.stop_claiming()
            app.notify(
                f"waiting for {running} run{'s' if running != 1 else ''} to end, then "
                "quitting (ctrl+q again cancels them)",
                timeout=8,
            )
        elif choice == CANCEL:
            app.quit_when_idle = True
            _cancel_running(app)

    app.push_screen(QuitScreen(running, queued), chosen)


def left_behind(running: int, queued: int) -> str:
    """What quitting with Leave leaves, printed after the console closes."""
    parts = []
    if running:
        parts.append(
            f"{running} run{'s' if running != 1 else ''} still running: the console's "
            "supervisor finishes them in the background, then exits "
            "(its log: .duftui/console-supervisor.log)"
        )
    if queued:
        parts.append(
            f"{queued} queued run{'s' if queued != 1 else ''} left for a daemon, the next "
            "console or `duftui run`"
        )
    return "duftui: " + "; ".join(parts) if parts else ""


def _cancel_running(app: DuftuiApp) -> None:
    """Cancel through engine.control (so the audit records it), then stop the runner."""
    ids = app.runner.running_ids
    app.runner.stop_claiming()
    if not ids:
        return

    def job() -> None:
        outcome = app.operator.cancel(ids, reason=f"{QUIT_REASON} by {app.session.user}")
        app.call_from_thread(
            app.notify, f"{outcome.message}; quitting when they have ended", title="Quit"
        )
        app.call_from_thread(app.runner.kick)

    app.run_worker(job, thread=True, group="quit", exit_on_error=False)


ADOPT_AFTER_S = 2.0


def ensure_runner(app: DuftuiApp) -> None:
    """Make sure the console's supervisor runs (started in a worker: it takes a moment)."""
    runner = app.runner
    if runner.active and not runner.stopping:
        runner.kick()
        return
    if runner.active or app.starting_runner:
        return  # stopping for a daemon (which runs the new work), or already starting
    app.starting_runner = True

    def start() -> None:
        try:
            runner.start(lambda code, last: _runner_finished(app, code, last))
        finally:
            app.starting_runner = False
        app.call_from_thread(runner.kick)

    app.run_worker(
        start,
        thread=True,
        group="runner",
        exit_on_error=False,
        name="starting the console's supervisor",
    )


def _runner_finished(app: DuftuiApp, code: int | None, last_error: str) -> None:
    """From a thread, when the supervisor process has exited."""

    def done() -> None:
        app.embedded_running = 0
        if code:
            app.notify(
                f"the console's supervisor stopped (exit {code}): {last_error} "
                "(see .duftui/console-supervisor.log)",
                severity="error",
                timeout=15,
            )
        if app.quit_when_idle:
            app.exit()

    app._from_thread(done)


def adopt_queued_later(app: DuftuiApp) -> None:
    """Queued runs nobody claims (`duftui run --detach`, retries) are run by the console
    when no daemon is alive — after a short grace, so a `duftui run` in another terminal,
    which claims its own run at once, is never raced for it."""
    if not app.run_queued or app.adopting or (app.runner.active and not app.runner.stopping):
        return
    if app.daemon is None or app.daemon.status == DAEMON_RUNNING:
        return
    app.adopting = True
    app.set_timer(ADOPT_AFTER_S, lambda: _adopt(app))


def _adopt(app: DuftuiApp) -> None:
    store = app.session.store()

    def job() -> None:
        cutoff = to_iso(utcnow() - timedelta(seconds=ADOPT_AFTER_S))
        now = to_iso(utcnow())
        with store.read() as conn:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM run WHERE status = 'queued' AND queued_at <= :cutoff "
                    "AND (not_before IS NULL OR not_before <= :now)"
                ),
                {"cutoff": cutoff, "now": now},
            ).scalar_one()
            alive = daemon_alive(conn) is not None
        app.call_from_thread(_adopted, app, bool(waiting) and not alive)

    app.run_worker(
        job, thread=True, group="adopt", exit_on_error=False, name="looking for queued runs"
    )


def _adopted(app: DuftuiApp, start: bool) -> None:
    app.adopting = False
    if start and not app.runner.active:
        app.notify("no daemon is running: this console runs the queued work", timeout=5)
        app.ensure_runner()


def reload_definitions(app: DuftuiApp, announce: bool = True) -> None:
    """Re-read the workspace (after editing TOML by hand) and refresh the screens;
    `announce=False` after a save, which has said what it wrote already."""
    session = app.session

    def job() -> None:
        catalogue = session.catalogue(reload=True)
        errors = len(catalogue.errors)

        def done() -> None:
            app.runner.reload()
            for stack_screen in app.screen_stack:
                reload = getattr(stack_screen, "reload", None)
                if callable(reload):
                    reload()
            if not announce:
                return
            message = f"{len(catalogue.tasks)} tasks loaded"
            if errors:
                message += f"; {errors} definition problem{'s' if errors != 1 else ''}"
            app.notify(message, title="Reloaded", severity="warning" if errors else "information")

        app.call_from_thread(done)

    app.run_worker(job, thread=True, group="reload", exit_on_error=False, name="reload")


def start_daemon(app: DuftuiApp) -> None:
    """`duftui daemon --detach` in the background, so schedules fire."""
    workspace = app.session.workspace

    def job() -> None:
        argv = [sys.executable, "-m", "duftui", "--workspace", str(workspace), "daemon", "--detach"]
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            app.call_from_thread(app.notify, f"could not start the daemon: {exc}", severity="error")
            return
        if result.returncode == 0:
            app.call_from_thread(app.notify, "daemon started in the background", title="Daemon")
        else:
            reason = (result.stderr or result.stdout).strip().splitlines()
            app.call_from_thread(
                app.notify,
                "could not start the daemon: "
                + (reason[-1] if reason else f"exit {result.returncode}"),
                severity="error",
                timeout=10,
            )
        app.call_from_thread(app.watcher.poke)

    app.run_worker(job, thread=True, group="daemon", exit_on_error=False, name="start daemon")
