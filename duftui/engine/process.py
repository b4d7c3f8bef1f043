"""Running one task process: new process group, live output, timeout, cancel, rusage.

The process is started with `subprocess.Popen` in a worker thread (so a slow fork never
blocks the event loop), its pipes are read without blocking as data arrives, and it is
reaped with `os.wait4` (through a pidfd on Linux) to get its CPU time and peak memory.
Cancel and timeout send SIGTERM to the whole group (and any descendant that left it),
then SIGKILL after the grace period. When the main process exits, whatever it left
behind in its group is terminated too: children of a task die with it.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import psutil

from duftui.engine.identity import start_time
from duftui.engine.outcomes import Usage
from duftui.engine.streams import LineSplitter

READ_SIZE = 1 << 20
PIPE_SIZE = 1 << 20
DRAIN_AFTER_EXIT_S = 2.0
_WAIT_LIMITER = anyio.CapacityLimiter(1024)

OutputHandler = Callable[[str, list[str]], None]
EventHandler = Callable[[str], None]


@dataclass
class ProcessResult:
    returncode: int | None = None
    usage: Usage = field(default_factory=Usage)
    timed_out: bool = False
    cancelled: bool = False
    spawn_error: str | None = None
    pid: int | None = None
    exited_at: float = 0.0

    @property
    def exit_code(self) -> int | None:
        """The exit code, or None when a signal ended the process."""
        if self.returncode is None or self.returncode < 0:
            return None
        return self.returncode

    @property
    def signal(self) -> int | None:
        if self.returncode is not None and self.returncode < 0:
            return -self.returncode
        return None


def spawn_error_message(argv: list[str], exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"could not start {argv[0]!r}: {exc.strerror or exc}"
    return f"could not start {argv[0]!r}: {exc}"


def spawn(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start a task process in a new session (its own process group), stdin closed."""
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        close_fds=True,
    )


async def run_process(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    *,
    on_output: OutputHandler,
    on_event: EventHandler,
    cancel: anyio.Event,
    timeout: float | None = None,
    kill_grace: float = 10.0,
    on_started: Callable[[int, float | None], Awaitable[None] | None] | None = None,
    spawned: subprocess.Popen[bytes] | None = None,
) -> ProcessResult:
    """Run a process to its end; output lines go to `on_output(stream, lines)`.

    `spawned` is a process already started with `spawn()` (the supervisor starts it in
    the same worker-thread hop that claimed the run, to keep dispatch latency low).
    """
    result = ProcessResult()
    if spawned is not None:
        proc = spawned
    else:
        try:
            proc = await anyio.to_thread.run_sync(spawn, argv, cwd, env)
        except (OSError, ValueError) as exc:
            result.spawn_error = spawn_error_message(argv, exc)
            result.returncode = 127 if isinstance(exc, FileNotFoundError) else 126
            result.exited_at = time.time()
            return result
    pid = proc.pid
    result.pid = pid
    started = start_time(pid)
    if on_started is not None:
        maybe = on_started(pid, started)
        if maybe is not None:
            await maybe
    assert proc.stdout is not None and proc.stderr is not None
    fds = {"stdout": proc.stdout.fileno(), "stderr": proc.stderr.fileno()}
    for fd in fds.values():
        os.set_blocking(fd, False)
        _grow_pipe(fd)
    exited = anyio.Event()
    readers_done = anyio.Event()
    status: dict[str, object] = {}

    async def read(stream: str, fd: int) -> None:
        await _read_pipe(fd, lambda lines: on_output(stream, lines))

    async def read_all() -> None:
        async with anyio.create_task_group() as readers:
            for stream, fd in fds.items():
                readers.start_soon(read, stream, fd)
        readers_done.set()

    async def reap() -> None:
        status["wait"] = await _wait4(pid)
        result.exited_at = time.time()
        exited.set()

    async def watchdog() -> None:
        reason = None
        with anyio.move_on_after(timeout) if timeout else _forever():
            async with anyio.create_task_group() as tg:
                tg.start_soon(_wait_event, exited, tg.cancel_scope)
                tg.start_soon(_wait_event, cancel, tg.cancel_scope)
            reason = "cancel" if cancel.is_set() and not exited.is_set() else None
        if not exited.is_set() and reason is None and timeout:
            reason = "timeout"
        if reason is None:
            return
        if reason == "timeout":
            result.timed_out = True
            on_event(f"timed out after {timeout:g}s; sending SIGTERM to the process group")
        else:
            result.cancelled = True
            on_event("cancelling: sending SIGTERM to the process group")
        victims = _descendants(pid)
        _signal_group(pid, signal.SIGTERM, victims)
        with anyio.move_on_after(kill_grace):
            await exited.wait()
        if not exited.is_set():
            on_event(f"still running after {kill_grace:g}s; sending SIGKILL")
            _signal_group(pid, signal.SIGKILL, victims | _descendants(pid))

    async with anyio.create_task_group() as tg:
        tg.start_soon(read_all)
        tg.start_soon(reap)
        tg.start_soon(watchdog)
        await exited.wait()
        # Whatever the task left running in its group dies with it.
        leftovers = _group_members(pid)
        if leftovers:
            on_event(f"terminating {len(leftovers)} leftover process(es) of the task")
            _signal_group(pid, signal.SIGTERM, leftovers)
            with anyio.move_on_after(min(kill_grace, 2.0)):
                while _group_members(pid):
                    await anyio.sleep(0.05)
            _signal_group(pid, signal.SIGKILL, leftovers)
        with anyio.move_on_after(DRAIN_AFTER_EXIT_S):
            await readers_done.wait()
        tg.cancel_scope.cancel()
    for handle in (proc.stdout, proc.stderr):
        handle.close()
    wait_status, rusage = status["wait"]  # type: ignore[misc]
    result.returncode = os.waitstatus_to_exitcode(wait_status)
    result.usage = Usage(cpu_user_s=round(rusage.ru_utime, 3), cpu_sys_s=round(rusage.ru_stime, 3),
                         max_rss_kb=int(rusage.ru_maxrss))
    proc.returncode = result.returncode  # reaped here; keep Popen from waiting again
    return result


def _grow_pipe(fd: int) -> None:
    """A 1 MiB pipe: a flooding task blocks less and the supervisor wakes up less often."""
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass


async def _read_pipe(fd: int, deliver: Callable[[list[str]], None]) -> None:
    """Read a non-blocking pipe to EOF, handing out complete lines as they arrive.

    On asyncio the fd stays registered with the loop for the whole run (one callback per
    read); elsewhere it falls back to anyio's wait_readable.
    """
    splitter = LineSplitter()
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    try:
        if loop is None:
            while True:
                await anyio.wait_readable(fd)
                try:
                    data = os.read(fd, READ_SIZE)
                except BlockingIOError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                lines = splitter.feed(data)
                if lines:
                    deliver(lines)
            return
        finished = anyio.Event()

        def ready() -> None:
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                loop.remove_reader(fd)
                finished.set()
                return
            lines = splitter.feed(data)
            if lines:
                deliver(lines)

        loop.add_reader(fd, ready)
        try:
            await finished.wait()
        finally:
            loop.remove_reader(fd)
    finally:
        rest = splitter.finish()
        if rest:
            deliver(rest)


class _forever:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return False


async def _wait_event(event: anyio.Event, scope: anyio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


async def _wait4(pid: int) -> tuple[int, object]:
    """Reap `pid` without blocking the loop, returning (status, rusage)."""
    pidfd = None
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            pidfd = None
    if pidfd is not None:
        try:
            await anyio.wait_readable(pidfd)
            _, wait_status, rusage = os.wait4(pid, 0)
            return wait_status, rusage
        finally:
            os.close(pidfd)
    _, wait_status, rusage = await anyio.to_thread.run_sync(
        os.wait4, pid, 0, limiter=_WAIT_LIMITER
    )
    return wait_status, rusage


def _descendants(pid: int) -> set[int]:
    try:
        return {child.pid for child in psutil.Process(pid).children(recursive=True)}
    except psutil.Error:
        return set()


def _group_members(pgid: int) -> set[int]:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return set()
    except PermissionError:
        pass
    members = set()
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                members.add(proc.pid)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return members


def _signal_group(pgid: int, sig: int, extra: set[int]) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    for pid in extra:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
