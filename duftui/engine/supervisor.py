"""The supervisor (DESIGN §5.1): claims queued runs, runs each in its own process group,
streams output into the store, acts on cancel flags and time limits, and records the end.

One runs inside the daemon; without a daemon, the console or `duftui run` runs one
embedded (a `batch_id` scope limits an embedded `duftui run` to its own batch). Blocking
SQLite work happens in worker threads or in the LogWriter thread, never on the loop.

One claim thread, for the supervisor's whole life, waits for work (`Doorbell`), claims,
plans and starts the runs when it is woken, and hands them to the loop without waiting
for it: a poke or a kick reaches the claim without a hop through the event loop, and the
loop's work for a new run does not hold up the next claim (dispatch latency).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectSendStream
from sqlalchemy import Connection, text

from duftui.definitions.loader import Catalogue
from duftui.definitions.secrets import Masker, SecretStore
from duftui.engine.claim import (
    Claimed,
    claim_runs,
    end_unstartable,
    next_due,
    record_started,
)
from duftui.engine.events import RunEvent, RunFinished, RunLines, RunProgress, RunStarted
from duftui.engine.identity import process_identity, start_time_now, this_host
from duftui.engine.launch import LaunchError, LaunchPlan, build_plan
from duftui.engine.outcomes import FinishOutcome, finish_run
from duftui.engine.process import (
    CancelFlag,
    ProcessResult,
    run_process,
    spawn,
    spawn_error_message,
)
from duftui.engine.recovery import recover_lost
from duftui.engine.run_messages import fail_message, result_message
from duftui.engine.streams import classify, level_of_name, parse_marker
from duftui.engine.wake import Doorbell, WakeListener
from duftui.store.db import ChangeWatcher, Store, driver, passing_error
from duftui.store.logs import OpenChunk
from duftui.store.logwriter import LogWriter
from duftui.store.outputs import record_output
from duftui.store.runs import get_run, request_cancel
from duftui.store.states import Level, RunStatus
from duftui.task import MARKER

_LOG = logging.getLogger(__name__)
RECOVERY_EVERY_S = 10.0
CLAIM_RETRY_S = 1.0  # after a claim failed on a full disk or a lock held elsewhere
PROGRESS_EVERY_S = 0.25
ERROR_LINES_KEPT = 3


@dataclass
class Prepared:
    """A claimed run with its launch plan and started process (or why it could not start)."""

    claimed: Claimed
    plan: LaunchPlan | None
    proc: subprocess.Popen[bytes] | None = None
    error: str | None = None


@dataclass
class RunHandle:
    """A run this supervisor is executing."""

    run_id: int
    task_key: str
    cancel: CancelFlag = field(default_factory=CancelFlag)
    masker: Masker = field(default_factory=Masker)
    error_lines: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=ERROR_LINES_KEPT)
    )
    last_lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=2))
    progress_at: float = 0.0
    pid: int | None = None


class Supervisor:
    """Runs queued runs until told to stop (or, with `until_idle`, until nothing is left)."""

    def __init__(
        self,
        store: Store,
        catalogue: Catalogue,
        secrets: SecretStore,
        *,
        max_parallel: int | None = None,
        batch_id: int | None = None,
        poll_interval: float = 0.25,
        listener: Callable[[RunEvent], None] | None = None,
        wake: WakeListener | None = None,
    ) -> None:
        self.store = store
        self.catalogue = catalogue
        self.secrets = secrets
        self.max_parallel = max_parallel or os.cpu_count() or 2
        self.batch_id = batch_id
        self.poll_interval = poll_interval
        self.listener = listener
        self.identity = process_identity()
        self.host = this_host()
        self.running: dict[int, RunHandle] = {}
        # A cycle's runs are in `running` once the loop has taken it (see drain()).
        self._cycles_started = self._cycles_taken = 0
        self._quit = False  # the claim thread ends
        self.writer = LogWriter(store)
        self._bell = Doorbell(wake)
        self._due: float | None = None
        self._stopping = False
        self._claiming = True
        self._watcher = ChangeWatcher(store.path)
        self._claim_db: sqlite3.Connection | None = None  # the claim thread's own
        # Task processes inherit the environment this supervisor started with: copying
        # os.environ (decoding every variable) on each run's start costs more than a claim.
        self._base_env = dict(os.environ)

    # -- public ------------------------------------------------------------------------

    def kick(self) -> None:
        """Look for work now (something was queued or cancelled). Any thread may call it."""
        self._bell.ring()

    def ignore_own_commit(self) -> None:
        """Do not wake up for a commit this process just made that needs no claim (the
        daemon's heartbeat, every 2 s). A commit another process makes in that same instant
        is passed over by this check too; its poke on the wake socket still arrives."""
        self._watcher.changed()

    def stop(self) -> None:
        """Stop claiming and return from run() once running tasks have ended."""
        self._claiming = False
        self._stopping = True
        self.kick()

    async def cancel_all(self, reason: str) -> None:
        """Cancel every run this supervisor is executing, recording why."""
        ids = list(self.running)
        if not ids:
            return

        def flag(conn: Connection) -> None:
            for run_id in ids:
                request_cancel(conn, run_id, reason)

        await self._call(flag)
        for run_id in ids:
            handle = self.running.get(run_id)
            if handle:
                handle.cancel.set()

    async def drain(self, grace: float, reason: str) -> None:
        """Stop claiming; let running tasks finish for `grace` seconds, then cancel them."""
        self._claiming = False
        self.kick()
        # Runs being claimed now are running runs too.
        while self._cycles_started != self._cycles_taken:
            await anyio.sleep(0.01)
        with anyio.move_on_after(grace):
            while self.running:
                await anyio.sleep(0.05)
        if self.running:
            await self.cancel_all(reason)
            while self.running:
                await anyio.sleep(0.05)
        self.stop()

    async def run(self, until_idle: bool = False) -> None:
        """The main loop: starts a task for every run the claim thread started, and stops
        the claim thread when done (told to stop, or idle with `until_idle`)."""
        self._bell.open()
        self._quit = False
        try:
            await anyio.to_thread.run_sync(self._recover)
            send, receive = anyio.create_memory_object_stream[Cycle](math.inf)
            async with anyio.create_task_group() as tg, receive:
                tg.start_soon(self._watch)
                tg.start_soon(self._ring_on_cancel)
                tg.start_soon(self._claim_thread, tg, send)
                async for claimed, cancels in receive:  # until the claim thread ends
                    self._flag_cancels(cancels)
                    if self._quit:
                        continue
                    if (self._stopping and not self.running) or (
                            until_idle and not claimed and not self.running
                            and await anyio.to_thread.run_sync(self._idle)):
                        self._end_claim_thread()
                while self.running:  # claimed in the claim thread's last cycle
                    await anyio.sleep(0.05)
                tg.cancel_scope.cancel()
        finally:
            await anyio.to_thread.run_sync(self.writer.stop)
            if self._claim_db is not None:
                self._claim_db.close()
                self._claim_db = None
            self._watcher.close()
            self._bell.close()

    # -- loop helpers ------------------------------------------------------------------

    def _recover(self) -> None:
        with self.store.raw() as db:  # most of the time nothing runs: no write transaction
            running = db.execute("SELECT 1 FROM run WHERE status = 'running' "
                                 "AND supervisor IS NOT ? LIMIT 1", (self.identity,)).fetchone()
        if running is None:
            return
        with self.store.write() as conn:
            lost = recover_lost(conn, self.catalogue)
        for run_id in lost:
            _LOG.warning("run %s was lost (its supervisor is gone); marked lost", run_id)

    def _claim_and_spawn(self) -> tuple[list[Prepared], float | None]:
        """Claim, plan and start processes in one worker-thread hop (low dispatch latency).

        The claim commits before any process starts (a crash in between leaves a `lost`
        run, never a second process for one run). Only what a process needs is done before
        it starts; its pid, start time and first log line are recorded right after, in
        this thread, so no other thread writes while the new processes start up. Also
        returns when the next waiting run becomes due, for the loop's sleep.
        """
        if self._claim_db is None:
            self._claim_db = self.store.connect()
        db = self._claim_db
        with self.store.write_on(db):
            claimed, unstartable = claim_runs(
                db, self.catalogue, supervisor=self.identity, host=self.host,
                max_parallel=self.max_parallel, batch_id=self.batch_id,
                limit=self.max_parallel - len(self.running))
            due = _seconds_until(next_due(db, self.batch_id))
        prepared = [self._start(item) for item in claimed]
        started, first_lines = [], []
        for item in prepared:
            if item.proc is not None and item.plan is not None:
                started.append((item.claimed.run_id, item.proc.pid, start_time_now(),
                                str(item.plan.output_dir)))
                first_line = OpenChunk(item.claimed.run_id, first_seq=1)
                first_line.add(time.time(), "event", Level.INFO, self._start_message(item))
                first_lines.append(first_line)
        if started:
            # The first lines are stored with the pids, not by the log writer: waking its
            # thread while processes start costs them CPU.
            try:
                with self.store.write_on(db):
                    record_started(db, started, first_lines)
            except sqlite3.Error as exc:
                # The processes run: the log writer records them, trying until it can.
                _LOG.error("recording started runs failed (%s); the log writer keeps trying",
                           exc)
                self.writer.call(lambda conn: record_started(driver(conn), started, first_lines))
        if unstartable:
            with self.store.write() as conn:
                end_unstartable(conn, self.catalogue, unstartable)
            self.kick()  # ending them may have queued their dependants
        return prepared, due

    def _start(self, item: Claimed) -> Prepared:
        """Plan and start one claimed run: nothing else before its process starts."""
        try:
            plan = build_plan(self.catalogue, item, self.secrets, self._base_env,
                              creation_id=self.store.creation_id)
        except LaunchError as exc:
            return Prepared(item, None, error=f"not started: {exc}")
        plan.output_dir.mkdir(parents=True, exist_ok=True)
        plan.env["DUFTUI_DB"] = str(self.store.path)  # the step runner records here
        try:
            proc = spawn(plan.argv, plan.cwd, plan.env)
        except (OSError, ValueError) as exc:
            prepared = Prepared(item, plan, error=plan.masker.mask(
                spawn_error_message(plan.argv, exc)))
            self.writer.add(item.run_id, "event", Level.INFO, self._start_message(prepared))
            return prepared
        return Prepared(item, plan, proc=proc)

    def _idle(self) -> bool:
        with self.store.read() as conn:
            scope = "AND batch_id = :b" if self.batch_id is not None else ""
            row = conn.execute(
                text(f"SELECT count(*) FROM run WHERE status IN ('queued', 'running') {scope}"),
                {"b": self.batch_id},
            ).first()
        return not row or row[0] == 0

    async def _claim_thread(self, tg: TaskGroup, send: MemoryObjectSendStream[Cycle]) -> None:
        """Runs `_claim_loop` in a worker thread for as long as the supervisor runs. Each
        cycle's runs reach the loop without the thread waiting for it, and their tasks
        start in the loop's next turn (dispatch latency)."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None

        def take(cycle: Cycle) -> None:  # in the loop's thread
            for item in cycle[0]:
                handle = RunHandle(item.claimed.run_id, item.claimed.task_key)
                if item.plan is not None:
                    handle.masker = item.plan.masker
                self.running[handle.run_id] = handle
                tg.start_soon(self._execute, item)
            self._cycles_taken += 1
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                send.send_nowait(cycle)

        def hand_over(cycle: Cycle) -> None:  # in the claim thread
            if loop is not None:
                loop.call_soon_threadsafe(take, cycle)
            else:  # another event loop: a round trip
                anyio.from_thread.run_sync(take, cycle)

        with send:
            await anyio.to_thread.run_sync(self._claim_loop, hand_over)

    def _claim_loop(self, hand_over: Callable[[Cycle], None]) -> None:
        """In the claim thread: wait for a kick, a poke or the next waiting run's due time
        (no busy polling), then claim and start what may run, collect cancel requests and
        hand both to the loop; until told to quit."""
        wait = False  # look for work at once on start
        while not self._quit:
            if wait:
                timeout = 60.0
                if self._due is not None and self._claiming:
                    timeout = max(0.0, min(timeout, self._due - time.time()))
                self._bell.wait(timeout)
                if self._quit:
                    break
            wait = True
            claimed: list[Prepared] = []
            self._cycles_started += 1  # before `_claiming` is read: see drain()
            try:
                if self._claiming and len(self.running) < self.max_parallel:
                    claimed, self._due = self._claim_and_spawn()
                cancels = self._cancel_requests() if self.running else []
            except Exception as exc:
                if not passing_error(exc):
                    raise
                # A full disk or a lock held elsewhere: nothing was started; try again.
                _LOG.error("cannot claim runs (%s); trying again in %gs", exc, CLAIM_RETRY_S)
                self._due = time.time() + CLAIM_RETRY_S
                claimed, cancels = [], []
            hand_over((claimed, cancels))

    def _end_claim_thread(self) -> None:
        self._claiming = False
        self._quit = True
        self._bell.ring()

    async def _ring_on_cancel(self) -> None:
        """A cancelled run() must not wait for the claim thread's timeout."""
        try:
            await anyio.sleep_forever()
        finally:
            self._end_claim_thread()

    async def _watch(self) -> None:
        last_recovery = time.monotonic()
        while True:
            await anyio.sleep(self.poll_interval)
            if self._watcher.changed():
                self.kick()
            if time.monotonic() - last_recovery > RECOVERY_EVERY_S:
                last_recovery = time.monotonic()
                await anyio.to_thread.run_sync(self._recover)

    def _cancel_requests(self) -> list[int]:
        """Runs of this supervisor someone asked to cancel (after every wake-up: a plain
        driver query)."""
        with self.store.raw() as db:
            rows = db.execute(
                "SELECT id FROM run WHERE supervisor = ? AND status = 'running' "
                "AND cancel_requested = 1", (self.identity,)).fetchall()
        return [run_id for (run_id,) in rows]

    def _flag_cancels(self, run_ids: list[int]) -> None:
        for run_id in run_ids:
            handle = self.running.get(run_id)
            if handle and not handle.cancel.is_set():
                handle.cancel.set()

    async def _call(self, fn: Callable[[Connection], Any]) -> Any:
        """Run `fn` in the log writer's next transaction and wait for its result."""
        future = self.writer.call(fn)
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # another event loop (trio): wait in a worker thread
            return await anyio.to_thread.run_sync(future.result)
        return await asyncio.wrap_future(future)

    def _emit(self, event: RunEvent) -> None:
        if self.listener is not None:
            try:
                self.listener(event)
            except Exception:
                _LOG.exception("event listener failed")

    # -- one run -----------------------------------------------------------------------

    async def _execute(self, prepared: Prepared) -> None:
        handle = self.running[prepared.claimed.run_id]
        try:
            await self._execute_run(handle, prepared)
        except Exception as exc:  # never leave a run `running` because of a bug here
            _LOG.exception("run %s failed inside the supervisor", handle.run_id)
            self._event_line(handle, f"internal error: {exc!r}", Level.ERROR)
            await self._finish(handle, RunStatus.FAILED, None, f"internal error: {exc!r}",
                               ProcessResult())
        finally:
            self.running.pop(handle.run_id, None)
            self.kick()

    async def _execute_run(self, handle: RunHandle, prepared: Prepared) -> None:
        plan = prepared.plan
        if prepared.error is not None or plan is None or prepared.proc is None:
            message = prepared.error or "not started"
            self._event_line(handle, message, Level.ERROR)
            await self._finish(handle, RunStatus.FAILED, None, message, ProcessResult())
            return

        def started(pid: int) -> None:
            handle.pid = pid  # recorded in the store by _claim_and_spawn
            self._emit(RunStarted(run_id=handle.run_id, task_key=handle.task_key, pid=pid))

        result = await run_process(
            plan.argv, plan.cwd, plan.env,
            on_output=lambda stream, lines: self._output(handle, stream, lines),
            on_event=lambda message: self._event_line(handle, message, Level.WARNING),
            cancel=handle.cancel, timeout=plan.timeout, kill_grace=plan.kill_grace,
            on_started=started, spawned=prepared.proc,
        )
        status, error = await self._judge(handle, result, plan)
        await self._finish(handle, status, result.exit_code, error, result)

    def _load_run(self, run_id: int):
        with self.store.read() as conn:
            run = get_run(conn, run_id)
        assert run is not None
        return run

    @staticmethod
    def _start_message(prepared: Prepared) -> str:
        plan, claimed = prepared.plan, prepared.claimed
        assert plan is not None
        shown = " ".join(plan.argv[:3]) + (" …" if len(plan.argv) > 3 else "")
        tries = (f"attempt {claimed.attempt} of {claimed.max_attempts}: "
                 if claimed.max_attempts > 1 else "")
        used = f" in {plan.environment}" if plan.environment else ""  # docs/environments.md
        return plan.masker.mask(f"{tries}starting {shown} in {plan.cwd}{used}")

    async def _judge(self, handle: RunHandle, result: ProcessResult,
                     plan: LaunchPlan) -> tuple[RunStatus, str | None]:
        if result.spawn_error:
            return RunStatus.FAILED, handle.masker.mask(result.spawn_error)
        if result.timed_out:
            return RunStatus.TIMED_OUT, f"timed out after {plan.timeout:g}s"
        if result.cancelled:
            run = await anyio.to_thread.run_sync(self._load_run, handle.run_id)
            return RunStatus.CANCELLED, f"cancelled: {run.cancel_reason or 'on request'}"
        if result.returncode == 0:
            return RunStatus.SUCCEEDED, None
        ended = (f"killed by signal {result.signal}" if result.signal
                 else f"exit code {result.returncode}")
        lines = list(handle.error_lines) or list(handle.last_lines)
        summary = "\n".join(lines)
        return RunStatus.FAILED, f"{summary}\n({ended})" if summary else ended

    async def _finish(self, handle: RunHandle, status: RunStatus, exit_code: int | None,
                      error: str | None, result: ProcessResult) -> None:
        ended = datetime.fromtimestamp(result.exited_at or time.time(), UTC)
        detail = error.splitlines()[-1].strip("()") if error else ""
        self._event_line(handle, f"finished: {status}" + (f", {detail}" if detail else ""),
                         Level.INFO if status == RunStatus.SUCCEEDED else Level.ERROR)

        def finish(conn: Connection) -> FinishOutcome:
            outcome = finish_run(conn, self.catalogue, handle.run_id, status,
                                 exit_code=exit_code, error=error, usage=result.usage, now=ended,
                                 secrets=self.secrets)
            self.writer.forget(handle.run_id)  # its last lines are in this transaction
            return outcome

        outcome: FinishOutcome = await self._call(finish)
        self._emit(RunFinished(run_id=handle.run_id, task_key=handle.task_key, status=str(status),
                               exit_code=exit_code, retry_run_id=outcome.retry_run_id))

    # -- output ------------------------------------------------------------------------

    def _event_line(self, handle: RunHandle, message: str, level: int = Level.INFO) -> None:
        lines = handle.masker.mask(message).split("\n")
        self.writer.add_block(handle.run_id, "event", lines, [level] * len(lines))

    def _output(self, handle: RunHandle, stream: str, lines: list[str]) -> None:
        """A block of lines from one stream: levels, structured messages, masking, store.

        Work is per block: the common case (no marker lines, no secrets) hands the whole
        block to the log writer as one item.
        """
        found, has_marker = classify(lines)
        levels = found
        if has_marker and any(line.startswith(MARKER) for line in lines):
            levels = found if found is not None else [Level.INFO] * len(lines)
            kept_lines, kept_levels = [], []
            for line, level in zip(lines, levels, strict=True):
                if line.startswith(MARKER):
                    line, level = self._structured(handle, line)
                    if line is None:
                        continue
                    for part in line.split("\n"):  # a multi-line message: one line each
                        kept_lines.append(part)
                        kept_levels.append(level)
                    continue
                kept_lines.append(line)
                kept_levels.append(level)
            lines, levels = kept_lines, kept_levels
        if handle.masker:
            lines = handle.masker.mask_lines(lines)
        self._remember(handle, stream, lines, levels)
        self.writer.add_block(handle.run_id, stream, lines, levels)
        self._emit(RunLines(run_id=handle.run_id, task_key=handle.task_key, count=len(lines)))

    @staticmethod
    def _remember(handle: RunHandle, stream: str, lines: list[str],
                  levels: list[int] | None) -> None:
        """Keep the last error lines (the run's summary if it fails) and the last lines."""
        recent = [line[:500] for line in lines[-8:] if line.strip()]
        handle.last_lines.extend(recent[-(handle.last_lines.maxlen or 2):])
        if levels is None and stream != "stderr":
            return
        found = []
        levels = levels if levels is not None else [Level.INFO] * len(lines)
        for line, level in zip(reversed(lines), reversed(levels), strict=True):
            if (stream == "stderr" or level >= Level.ERROR) and line.strip():
                found.append(line[:500])
                if len(found) == ERROR_LINES_KEPT:
                    break
        handle.error_lines.extend(reversed(found))

    def _structured(self, handle: RunHandle, line: str) -> tuple[str | None, int]:
        message = parse_marker(line)
        if message is None:
            return line, Level.INFO
        data = message.data
        if message.kind == "log":
            return str(data.get("msg", "")), level_of_name(data.get("level", "info"))
        if message.kind == "progress":
            self._progress(handle, data)
            return None, Level.INFO
        if message.kind == "output":
            path = Path(str(data.get("path", "")))
            stage = str(data.get("stage") or "output")
            run_id = handle.run_id
            self.writer.call(lambda conn: record_output(conn, run_id, path, stage))
            return f"output file: {path}", Level.INFO
        if message.kind in ("result", "fail"):
            write, shown, level = (
                result_message(handle.run_id, data, handle.masker)
                if message.kind == "result"
                else fail_message(handle.run_id, data)
            )
            if write is not None:
                self.writer.call(write)
            return shown, level
        return line, Level.INFO

    def _progress(self, handle: RunHandle, data: dict[str, Any]) -> None:
        try:
            done = float(data.get("done", 0))
            total = float(data["total"]) if data.get("total") is not None else None
        except (TypeError, ValueError):
            return
        now = time.monotonic()
        final = total is not None and done >= total
        if now - handle.progress_at < PROGRESS_EVERY_S and not final:
            return
        handle.progress_at = now
        run_id = handle.run_id
        self.writer.call(lambda conn: conn.execute(
            text("UPDATE run SET progress_done = :d, progress_total = :t WHERE id = :id"),
            {"d": done, "t": total, "id": run_id}))
        self._emit(RunProgress(run_id=run_id, task_key=handle.task_key, done=done, total=total))


Cycle = tuple[list[Prepared], list[int]]  # runs started, runs asked to cancel


def _seconds_until(due: str | None) -> float | None:
    """Epoch seconds of an ISO timestamp (plus a little, so the run is due on wake-up)."""
    if due is None:
        return None
    return datetime.fromisoformat(due).timestamp() + 0.002
