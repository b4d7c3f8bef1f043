"""The console's embedded supervisor: runs queued work when no daemon holds the lease.

It starts when the console queues a run without a live daemon (or finds queued work that
nobody claims) and then keeps running, also picking up retries; when a daemon appears it
stops claiming and lets its own runs finish.

Why a child process (`duftui.tui.runner_process`) and not a task on Textual's loop:
streaming a flood of output is CPU work in Python. Measured with a task printing a
million lines, the Supervisor on the console's asyncio loop held keys back for up to
2.8 s, and in a thread of the console (GIL convoy) for up to 1.5 s; in its own process the
console only reads the store. A child process also lets running runs finish when the
console goes away (an SSH drop); it starts nothing new after that. It runs at a lower CPU
priority than the console (`NICE`), so the keyboard wins when a task floods the machine.

The console talks to it with signals (see runner_process) and reads everything else from
the store: its runs carry its identity in `run.supervisor`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable

from sqlalchemy import text

from duftui import locations
from duftui.tui.session import Session

QUIT_REASON = "the console that ran it was closed"
# CPU priority below the console's: measured on 2 CPUs with a task printing a million
# lines, key latency p99 fell from ~220 ms to ~70 ms.
NICE = 5
Finished = Callable[[int | None, str], None]


class EmbeddedRunner:
    """Owns at most one supervisor child process."""

    def __init__(
        self, session: Session, *, poll_interval: float = 0.1, max_parallel: int | None = None
    ) -> None:
        self.session = session
        self.poll_interval = poll_interval
        self.max_parallel = max_parallel
        self.identity: str | None = None
        self.stopping = False
        self.running: list[int] = []  # ids of runs it executes, from the latest pulse
        self._process: subprocess.Popen[str] | None = None

    @property
    def active(self) -> bool:
        return self._process is not None

    @property
    def running_ids(self) -> list[int]:
        return list(self.running) if self.active else []

    def start(self, finished: Finished) -> None:
        """Start the child and wait for it to be ready (blocking: call from a worker).

        `finished(returncode, last_error_line)` is called from a thread when it exits."""
        if self._process is not None:
            return
        ctx = self.session.ctx
        log = locations.state_dir(ctx.workspace) / "console-supervisor.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            "-m",
            "duftui.tui.runner_process",
            "--workspace",
            str(ctx.workspace),
            "--db",
            str(ctx.db_path),
            "--parent",
            str(os.getpid()),
            "--poll",
            str(self.poll_interval),
            "--nice",
            str(NICE),
        ]
        if self.max_parallel:
            argv += ["--max-parallel", str(self.max_parallel)]
        errors = open(log, "a", encoding="utf-8")  # noqa: SIM115 - the child keeps it open
        try:
            process = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                start_new_session=True,
                env=_child_env(),
            )
        finally:
            errors.close()
        self._process = process
        self.stopping = False
        assert process.stdout is not None
        ready = process.stdout.readline().split()
        self.identity = ready[1] if len(ready) == 2 and ready[0] == "ready" else None
        threading.Thread(
            target=self._wait,
            args=(process, finished, log),
            daemon=True,
            name="duftui-embedded-wait",
        ).start()

    def _wait(
        self, process: subprocess.Popen[str], finished: Finished, log: os.PathLike[str]
    ) -> None:
        code = process.wait()
        last = ""
        if code:
            with contextlib.suppress(OSError), open(log, encoding="utf-8") as handle:
                lines = [ln.strip() for ln in handle.readlines()[-20:] if ln.strip()]
                last = lines[-1] if lines else ""
        if self._process is process:
            self._process = None
            self.identity = None
            self.running = []
            self.stopping = False
        finished(code, last)

    def observe(self, active_runs: list[tuple[int, str, str | None]]) -> None:
        """From the store's pulse: (id, status, supervisor) of every active run."""
        me = self.identity
        self.running = [
            rid
            for rid, status, who in active_runs
            if me is not None and who == me and status == "running"
        ]

    def refresh_running(self) -> list[int]:
        """Read its running runs from the store now (the pulse may be a moment old)."""
        if self.identity is None:
            return []
        with self.session.store().read() as conn:
            rows = conn.execute(
                text("SELECT id FROM run WHERE status = 'running' AND supervisor = :me"),
                {"me": self.identity},
            ).all()
        self.running = [int(r[0]) for r in rows]
        return list(self.running)

    def _signal(self, signum: int) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signum)

    def kick(self) -> None:
        self._signal(signal.SIGUSR1)

    def stop_claiming(self) -> None:
        """Start nothing new; the child exits once its running runs have ended."""
        if self.active and not self.stopping:
            self.stopping = True
            self._signal(signal.SIGTERM)

    def shutdown(self) -> None:
        """The console is closing: the child finishes what runs and then exits by itself."""
        self.stop_claiming()

    def reload(self) -> None:
        """Definitions changed on disk: new runs use the new definitions."""
        self._signal(signal.SIGHUP)

    def queued_count(self) -> int:
        """Runs waiting in the store (for any supervisor), for the quit dialog."""
        with self.session.store().read() as conn:
            row = conn.execute(text("SELECT count(*) FROM run WHERE status = 'queued'")).one()
        return int(row[0])


def _child_env() -> dict[str, str]:
    """The child imports this same duftui, even from a source checkout."""
    env = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
    return env
