"""`duftui daemon` (DESIGN §6): holds the `daemon` lease, fires schedules on time, runs the
supervisor, reloads definitions when files change, and stops cleanly on SIGTERM/SIGINT.

Nothing here polls busily. The scheduler sleeps until the next fire (re-checking at
least once a minute in case the wall clock jumps); the supervisor sleeps until it is
poked or a retry is due; the watcher sleeps in inotify; the heartbeat ticks every 2 s.
Signal handling is separate from the loops it stops (as in Huey).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import anyio
import anyio.abc

from duftui.definitions.loader import Catalogue, load_workspace
from duftui.definitions.secrets import SecretStore
from duftui.engine.events import RunEvent, RunFinished, RunStarted
from duftui.engine.identity import process_identity
from duftui.engine.supervisor import Supervisor
from duftui.engine.wake import WakeListener
from duftui.schedule import lease
from duftui.schedule.housekeeping import prune_daily
from duftui.schedule.reload import merge, new_problems, settle_memory
from duftui.schedule.report import describe_report
from duftui.schedule.scheduler import LeaseLost, Scheduler
from duftui.schedule.watch import Watcher, open_watcher, settle
from duftui.store.db import Store

_LOG = logging.getLogger("duftui.daemon")
EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_LEASE_LOST = 3
MAX_SLEEP_S = 60.0
EARLY_S = 0.005
CHECKPOINT_AFTER_S = 0.25


@dataclass
class DaemonOptions:
    workspace: Path
    max_parallel: int | None = None
    grace: float = 30.0
    first_prune_after: float = 60.0
    poll_interval: float = 1.0


def take_lease(store: Store, holder: str) -> lease.LeaseInfo | None:
    """Take the daemon lease; returns the live holder that refuses us, or None when taken
    (a stale lease, whose heartbeat stopped or whose process is gone, is taken over)."""
    with store.write() as conn:
        before = lease.current(conn)
        blocking = lease.acquire(conn, holder=holder)
    if blocking is None and before is not None and before.holder != holder:
        _LOG.warning("took over a stale daemon lease: %s", before.describe())
    return blocking


class Daemon:
    def __init__(
        self, options: DaemonOptions, store: Store, secrets: SecretStore, holder: str | None = None
    ) -> None:
        self.options = options
        self.store = store
        self.secrets = secrets
        self.holder = holder or process_identity()
        self.exit_code = EXIT_OK
        self.stopping = False
        self.catalogue: Catalogue | None = None
        self.scheduler = Scheduler(store, secrets=secrets, holder=self.holder)
        self.supervisor: Supervisor | None = None
        self.watcher: Watcher | None = None
        self._wake_scheduler = anyio.Event()
        self._fresh: Catalogue | None = None
        self._done = anyio.Event()
        self._supervisor_done = anyio.Event()
        self._heartbeats = lease.HeartbeatWriter(store.path)
        self._beats_stop = threading.Event()
        self._fired = anyio.Event()
        self._supervising = False

    # -- lifecycle ---------------------------------------------------------------------

    async def run(self) -> int:
        """Run until stopped; returns the process exit code. The heartbeat and the signal
        handlers start first: loading a large workspace must not let the lease go stale."""
        listener = WakeListener(self.options.workspace)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._heartbeat)
                tg.start_soon(self._signals, tg)
                try:
                    await self._start(listener)
                except LeaseLost:
                    _LOG.error("lost the daemon lease while starting")
                    await self.stop("lost the daemon lease", EXIT_LEASE_LOST)
                except Exception:
                    _LOG.exception("the daemon could not start")
                    await self.stop("start-up failed", 1)
                if not self.stopping:
                    self._started()
                    tg.start_soon(self._supervise)
                    tg.start_soon(self._schedule)
                    tg.start_soon(self._watch)
                    tg.start_soon(self._checkpoints)
                    tg.start_soon(
                        prune_daily,
                        self.store,
                        self.options.workspace,
                        self.options.first_prune_after,
                    )
                await self._done.wait()
                self._beats_stop.set()  # the heartbeat thread ends at once, not a beat later
                tg.cancel_scope.cancel()
        finally:
            listener.close()
            if self.watcher is not None:
                self.watcher.close()
            await anyio.to_thread.run_sync(self._release)
            self._heartbeats.close()
        _LOG.info("daemon stopped (exit code %d)", self.exit_code)
        return self.exit_code

    async def _start(self, listener: WakeListener) -> None:
        self.catalogue = await anyio.to_thread.run_sync(self._load_first)
        self.supervisor = Supervisor(
            self.store,
            self.catalogue,
            self.secrets,
            max_parallel=self.options.max_parallel,
            poll_interval=self.options.poll_interval,
            listener=self._on_run_event,
            wake=listener,
        )
        await self._sync(self.catalogue)
        self.watcher = open_watcher(self.options.workspace)
        await anyio.to_thread.run_sync(settle_memory)

    def _load_first(self) -> Catalogue:
        catalogue = load_workspace(self.options.workspace)
        for problem in catalogue.errors:
            _LOG.error("%s", problem)
        return catalogue

    def _started(self) -> None:
        assert self.supervisor is not None and self.watcher is not None
        due = self.scheduler.next_due()
        _LOG.info(
            "daemon started: pid %d, workspace %s, %d schedules, next fire %s, "
            "max %d parallel runs, watching definitions with %s",
            os.getpid(),
            self.options.workspace,
            len(self.scheduler.entries),
            due.astimezone().isoformat(timespec="seconds") if due else "none",
            self.supervisor.max_parallel,
            self.watcher.kind,
        )

    def _release(self) -> None:
        with self.store.write() as conn:
            lease.release(conn, self.holder)

    async def stop(self, reason: str, code: int = EXIT_OK) -> None:
        """Stop firing and claiming; running tasks get `grace` seconds, then are cancelled."""
        if self.stopping:
            if self.supervisor is not None and self.supervisor.running:
                _LOG.warning(
                    "%s again: cancelling %d running tasks now",
                    reason,
                    len(self.supervisor.running),
                )
                await self.supervisor.cancel_all(f"daemon stopped ({reason}, twice)")
            return
        self.stopping = True
        self.exit_code = code
        self._wake_scheduler.set()
        supervisor = self.supervisor
        running = len(supervisor.running) if supervisor else 0
        _LOG.info(
            "stopping (%s): no new fires or runs; %d running tasks have %gs to finish",
            reason,
            running,
            self.options.grace,
        )
        if supervisor is not None and self._supervising:
            await supervisor.drain(
                self.options.grace,
                f"daemon stopped ({reason}); the {self.options.grace:g}s grace period ran out",
            )
            await self._supervisor_done.wait()
        self._done.set()

    # -- tasks -------------------------------------------------------------------------

    async def _supervise(self) -> None:
        assert self.supervisor is not None
        self._supervising = True
        try:
            await self.supervisor.run()
        except Exception:
            _LOG.exception("the supervisor failed")
            self.exit_code = 1
        finally:
            self._supervisor_done.set()
        if not self.stopping:
            self.stopping = True
            self._done.set()

    async def _heartbeat(self) -> None:
        try:
            lost = await anyio.to_thread.run_sync(self._beat_until_stopped)
        finally:
            self._beats_stop.set()
        if lost:
            await self._lease_lost()

    def _beat_until_stopped(self) -> bool:
        """In a worker thread for the daemon's life: a heartbeat every HEARTBEAT_S that
        never wakes the event loop (idle CPU). True when the lease was lost."""
        last_ok = time.monotonic()
        while not self._beats_stop.wait(lease.HEARTBEAT_S):
            try:
                ok = self._heartbeats.beat(self.holder)
                if self.supervisor is not None:
                    self.supervisor.ignore_own_commit()
            except Exception as exc:
                silent = time.monotonic() - last_ok
                _LOG.warning(
                    "could not write the heartbeat (%s); %.0fs since the last one", exc, silent
                )
                if silent < lease.STALE_S:
                    continue
                ok = False
            if not ok:
                return not self._beats_stop.is_set()
            last_ok = time.monotonic()
        return False

    async def _lease_lost(self) -> None:
        with self.store.read() as conn:
            holder = lease.current(conn)
        who = holder.describe() if holder else "nobody"
        _LOG.error("lost the daemon lease (now held by %s): no more fires or claims", who)
        await self.stop("lost the daemon lease", EXIT_LEASE_LOST)

    async def _schedule(self) -> None:
        while not self.stopping:
            if self._fresh is not None:
                catalogue, self._fresh = self._fresh, None
                try:
                    await self._sync(catalogue)
                except LeaseLost:
                    await self._lease_lost()
                    return
                except Exception:
                    _LOG.exception("applying the reloaded definitions failed; retrying in 1s")
                    self._fresh = self._fresh or catalogue
                    await anyio.sleep(1.0)
                    continue
                due = self.scheduler.next_due()
                _LOG.info(
                    "%d schedules active, next fire %s",
                    len(self.scheduler.entries),
                    due.astimezone().isoformat(timespec="seconds") if due else "none",
                )
            due = self.scheduler.next_due()
            delay = MAX_SLEEP_S if due is None else min(MAX_SLEEP_S, due.timestamp() - time.time())
            if delay > EARLY_S:
                with anyio.move_on_after(delay - EARLY_S):
                    await self._wake_scheduler.wait()
                if self._wake_scheduler.is_set():
                    self._wake_scheduler = anyio.Event()
                continue
            assert due is not None
            try:
                reports = await anyio.to_thread.run_sync(self._fire_at, due.timestamp())
            except LeaseLost:
                await self._lease_lost()
                return
            except Exception:
                _LOG.exception("firing schedules failed; trying again in 1s")
                await anyio.sleep(1.0)
                continue
            if self.supervisor is not None and reports:
                self.supervisor.kick()
                self._fired.set()
            for report in reports:
                for level, line in describe_report(report):
                    _LOG.log(level, "%s", line)

    async def _checkpoints(self) -> None:
        """Shortly after fires (once their runs have started), checkpoint the WAL if the
        next fire is not close, keeping SQLite's own checkpoints off the fire path."""
        while True:
            await self._fired.wait()
            self._fired = anyio.Event()
            await anyio.sleep(CHECKPOINT_AFTER_S)
            due = self.scheduler.next_due()
            if due is None or due.timestamp() - time.time() > CHECKPOINT_AFTER_S:
                try:
                    await anyio.to_thread.run_sync(self._heartbeats.checkpoint)
                except Exception as exc:  # a busy database: the next one will do
                    _LOG.debug("checkpoint skipped: %s", exc)

    def _fire_at(self, due: float) -> list:
        """In a worker thread (see `Scheduler.fire_at`). The supervisor is woken from here,
        right after the commit: its claim thread starts the runs without waiting for the
        event loop."""
        reports = self.scheduler.fire_at(due)
        if reports and self.supervisor is not None:
            self.supervisor.kick()
        return reports

    async def _sync(self, catalogue: Catalogue) -> None:
        problems = await anyio.to_thread.run_sync(self.scheduler.sync, catalogue, datetime.now(UTC))
        for problem in problems:
            _LOG.error("%s", problem)

    async def _watch(self) -> None:
        assert self.watcher is not None
        while True:
            await self.watcher.wait()
            await settle(self.watcher)
            try:
                await self.reload("definition files changed")
            except Exception:
                _LOG.exception("reloading the definitions failed; keeping the previous ones")

    async def reload(self, why: str) -> None:
        """Load the workspace again, keep last good versions, hand it to both loops."""
        if self.watcher is not None:
            await anyio.to_thread.run_sync(self.watcher.rescan)
        fresh = await anyio.to_thread.run_sync(load_workspace, self.options.workspace)
        previous = self.catalogue
        for problem in new_problems(previous.problems if previous else None, fresh.problems):
            _LOG.error("%s", problem)
        merged = merge(previous, fresh)
        for line in merged.kept:
            _LOG.warning("%s", line)
        self.catalogue = merged.catalogue
        if self.supervisor is not None:
            self.supervisor.catalogue = merged.catalogue
        self._fresh = merged.catalogue
        self._wake_scheduler.set()
        await anyio.to_thread.run_sync(settle_memory)
        errors = len(fresh.errors)
        _LOG.info(
            "reloaded definitions (%s): %d tasks, %s",
            why,
            len(merged.catalogue.tasks),
            f"{errors} problem{'s' if errors != 1 else ''}" if errors else "no problems",
        )

    async def _signals(self, tg: anyio.abc.TaskGroup) -> None:
        """SIGTERM/SIGINT stop (a second one cancels running tasks at once); SIGHUP reloads.
        Stopping runs beside this loop, so a second signal is heard during the drain."""
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            async for signum in signals:
                if signum == signal.SIGHUP:
                    tg.start_soon(self.reload, "SIGHUP")
                else:
                    tg.start_soon(self.stop, f"received {signal.Signals(signum).name}")

    def _on_run_event(self, event: RunEvent) -> None:
        if isinstance(event, RunStarted):
            _LOG.debug("run #%d %s started (pid %s)", event.run_id, event.task_key, event.pid)
        elif isinstance(event, RunFinished):
            level = logging.INFO if event.status == "succeeded" else logging.WARNING
            retry = f", retry queued as run #{event.retry_run_id}" if event.retry_run_id else ""
            _LOG.log(level, "run #%d %s %s%s", event.run_id, event.task_key, event.status, retry)


def run_daemon(options: DaemonOptions, store: Store, secrets: SecretStore) -> int:
    """Take the lease and run; returns the exit code (EXIT_REFUSED if another daemon runs)."""
    holder = process_identity()
    blocking = take_lease(store, holder)
    if blocking is not None:
        _LOG.error(
            "another daemon is running: %s; stop it first (a lease is taken over once "
            "its heartbeat is %gs old)",
            blocking.describe(),
            lease.STALE_S,
        )
        return EXIT_REFUSED
    daemon = Daemon(options, store, secrets, holder)
    return anyio.run(daemon.run)
