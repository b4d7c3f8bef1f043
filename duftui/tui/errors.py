"""One place where failures in background work become notifications.

Worker state messages do not bubble, so the app, every screen and every widget that runs
workers mix this in. A traceback never reaches the screen; the message says what failed.
"""

from __future__ import annotations

from textual.worker import Worker, WorkerState


class ReportsWorkerErrors:
    """Mixin for DOM nodes that start workers."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state != WorkerState.ERROR or worker.error is None:
            return
        error = worker.error
        what = worker.name or "background work"
        self.app.notify(  # type: ignore[attr-defined]
            f"{what} failed: {type(error).__name__}: {error}",
            title="Error",
            severity="error",
            timeout=10,
        )
