"""The console's embedded supervisor: runs queued work when no daemon holds the lease.

It starts the first time the console queues a run without a live daemon and then keeps
running (it also picks up retries and runs queued by `duftui run --detach`). When a
daemon appears it stops claiming and lets its own runs finish. The Supervisor is
anyio-based; the app runs `supervisor.run()` as an async worker on Textual's asyncio loop.

Runs it executes are children of the console process, so they cannot outlive it: on quit
they must be waited for or cancelled. Runs that are only queued stay in the store for a
daemon, the next console or `duftui run`.
"""

from __future__ import annotations

from sqlalchemy import text

from duftui.engine.supervisor import Supervisor
from duftui.tui.session import Session

QUIT_REASON = "the console that ran it was closed"


class EmbeddedRunner:
    """Owns at most one in-process Supervisor."""

    def __init__(self, session: Session, *, poll_interval: float = 0.1,
                 max_parallel: int | None = None) -> None:
        self.session = session
        self.poll_interval = poll_interval
        self.max_parallel = max_parallel
        self.supervisor: Supervisor | None = None
        self.stopping = False

    @property
    def active(self) -> bool:
        return self.supervisor is not None

    @property
    def running_ids(self) -> list[int]:
        return sorted(self.supervisor.running) if self.supervisor else []

    def start(self) -> Supervisor:
        """A new supervisor for the caller to run (`await supervisor.run()`)."""
        assert self.supervisor is None
        self.stopping = False
        self.supervisor = Supervisor(
            self.session.store(),
            self.session.catalogue(),
            self.session.ctx.secrets(),
            max_parallel=self.max_parallel,
            poll_interval=self.poll_interval,
        )
        return self.supervisor

    def finished(self, supervisor: Supervisor) -> None:
        """The supervisor's run() returned (or failed)."""
        if self.supervisor is supervisor:
            self.supervisor = None
            self.stopping = False

    def kick(self) -> None:
        if self.supervisor is not None:
            self.supervisor.kick()

    def stop_claiming(self) -> None:
        """Start no new runs; run() returns once the running ones have ended."""
        if self.supervisor is not None and not self.stopping:
            self.stopping = True
            self.supervisor.stop()

    def reload(self) -> None:
        """Definitions changed on disk: new runs use the new catalogue."""
        if self.supervisor is not None:
            self.supervisor.catalogue = self.session.catalogue()

    def queued_count(self) -> int:
        """Runs waiting in the store (for any supervisor), for the quit dialog."""
        with self.session.store().read() as conn:
            row = conn.execute(text("SELECT count(*) FROM run WHERE status = 'queued'")).one()
        return int(row[0])
