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
import functools
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import psutil

from duftui.engine.outcomes import Usage
from duftui.engine.streams import LineSplitter

READ_SIZE = 1 << 20
PIPE_SIZE = 1 << 20
GROW_AFTER = 1 << 16  # bytes read from a pipe before it is grown (a pipe's default size)
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


class CancelFlag:
    """Asks a running process to stop. Set it from the event loop's thread; the process's
    watcher wakes at once (no task waits on it)."""

    def __init__(self) -> None:
        self._set = False
        self._listeners: list[Callable[[], None]] = []

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        for listener in self._listeners:
            listener()

    def is_set(self) -> bool:
        return self._set

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)


class _Bell:
    """Wakes the watcher when something happened (exit, end of output, cancel, an error
    in a callback). A ring before the wait is not lost."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    def ring(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()
        self._event = anyio.Event()


class _Watch:
    """What is known about the process so far, filled in by callbacks or helper tasks."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.bell = _Bell()
        self.status: tuple[int, Any] | None = None
        self.exited_at = 0.0
        self.open_streams = 0
        self.error: BaseException | None = None
        self.readers: list[_PipeReader] = []
        self.reap: Callable[[], None] | None = None  # reaps now if it has exited

    def check_exit(self) -> None:
        """Reap now if the process has exited: its pipes end just before its exit is
        signalled, so the exit time is taken without waiting one more loop turn."""
        if self.reap is not None and not self.exited:
            self.reap()

    @property
    def exited(self) -> bool:
        return self.status is not None

    def reaped(self, wait_status: int, rusage: Any) -> None:
        self.status = (wait_status, rusage)
        self.exited_at = time.time()
        self.bell.ring()

    def stream_ended(self) -> None:
        self.open_streams -= 1
        self.bell.ring()

    def failed(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        self.bell.ring()

    async def until(self, done: Callable[[], bool]) -> None:
        """Wait until `done()` (checked after every ring); re-raise a callback's error."""
        while not done():
            if self.error is not None:
                raise self.error
            await self.bell.wait()
        if self.error is not None:
            raise self.error


async def run_process(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    *,
    on_output: OutputHandler,
    on_event: EventHandler,
    cancel: CancelFlag,
    timeout: float | None = None,
    kill_grace: float = 10.0,
    on_started: Callable[[int], Awaitable[None] | None] | None = None,
    spawned: subprocess.Popen[bytes] | None = None,
) -> ProcessResult:
    """Run a process to its end; output lines go to `on_output(stream, lines)`.

    `spawned` is a process already started with `spawn()` (the supervisor starts it in
    the same worker-thread hop that claimed the run, to keep dispatch latency low).

    On asyncio, the pipes and the exit (a pidfd) are watched by loop callbacks and this
    coroutine is the only task: starting many runs costs the loop little, and the loop's
    work does not compete with a process that is starting up.
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
    if on_started is not None:
        maybe = on_started(pid)
        if maybe is not None:
            await maybe
    assert proc.stdout is not None and proc.stderr is not None
    fds = {"stdout": proc.stdout.fileno(), "stderr": proc.stderr.fileno()}
    for fd in fds.values():
        os.set_blocking(fd, False)
    watch = _Watch(pid)
    cancel.subscribe(watch.bell.ring)
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    try:
        async with anyio.create_task_group() as tg:
            helpers = 0  # tasks, where there are no loop callbacks
            for stream, fd in fds.items():
                watch.open_streams += 1
                deliver = functools.partial(on_output, stream)
                if loop is not None:
                    watch.readers.append(_PipeReader(loop, fd, deliver, watch))
                else:
                    tg.start_soon(_read_pipe_task, fd, deliver, watch)
                    helpers += 1
            if loop is None or not _watch_exit(loop, watch):
                tg.start_soon(_reap_in_thread, watch)
                helpers += 1
            await _supervise(watch, cancel, timeout, kill_grace, on_event, result)
            with anyio.move_on_after(DRAIN_AFTER_EXIT_S):
                await watch.until(lambda: watch.open_streams <= 0)
            if helpers:
                tg.cancel_scope.cancel()
    finally:
        for reader in watch.readers:
            reader.close()
    for handle in (proc.stdout, proc.stderr):
        handle.close()
    assert watch.status is not None
    wait_status, rusage = watch.status
    result.exited_at = watch.exited_at
    result.returncode = os.waitstatus_to_exitcode(wait_status)
    result.usage = Usage(cpu_user_s=round(rusage.ru_utime, 3), cpu_sys_s=round(rusage.ru_stime, 3),
                         max_rss_kb=int(rusage.ru_maxrss))
    proc.returncode = result.returncode  # reaped here; keep Popen from waiting again
    return result


async def _supervise(watch: _Watch, cancel: CancelFlag, timeout: float | None,
                     kill_grace: float, on_event: EventHandler, result: ProcessResult) -> None:
    """Wait for the exit; on cancel or timeout, SIGTERM the group, SIGKILL after the grace
    period. Whatever the task left running in its group dies with it."""
    pid = watch.pid
    with anyio.move_on_after(timeout or None):
        await watch.until(lambda: watch.exited or cancel.is_set())
    if not watch.exited:
        if cancel.is_set():
            result.cancelled = True
            on_event("cancelling: sending SIGTERM to the process group")
        else:
            result.timed_out = True
            on_event(f"timed out after {timeout:g}s; sending SIGTERM to the process group")
        victims = _descendants(pid)
        _signal_group(pid, signal.SIGTERM, victims)
        with anyio.move_on_after(kill_grace):
            await watch.until(lambda: watch.exited)
        if not watch.exited:
            on_event(f"still running after {kill_grace:g}s; sending SIGKILL")
            _signal_group(pid, signal.SIGKILL, victims | _descendants(pid))
            await watch.until(lambda: watch.exited)
    leftovers = _group_members(pid)
    if leftovers:
        on_event(f"terminating {len(leftovers)} leftover process(es) of the task")
        _signal_group(pid, signal.SIGTERM, leftovers)
        with anyio.move_on_after(min(kill_grace, 2.0)):
            while _group_members(pid):
                await anyio.sleep(0.05)
        _signal_group(pid, signal.SIGKILL, leftovers)


class _PipeGrowth:
    """Grows a pipe to 1 MiB once its process has written a default pipe's worth: a
    flooding task then blocks less and the supervisor wakes up less often. Not for every
    process: the kernel would allocate the buffer while the process is starting up."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._until = GROW_AFTER

    def read(self, count: int) -> None:
        """`count` bytes came through the pipe."""
        if self._until <= 0:
            return
        self._until -= count
        if self._until <= 0 and hasattr(fcntl, "F_SETPIPE_SZ"):
            try:
                fcntl.fcntl(self._fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
            except OSError:
                pass


class _PipeReader:
    """Reads a non-blocking pipe from a loop callback, handing out complete lines."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int,
                 deliver: Callable[[list[str]], None], watch: _Watch) -> None:
        self._loop = loop
        self._fd = fd
        self._deliver = deliver
        self._watch = watch
        self._splitter = LineSplitter()
        self._open = True
        self._growth = _PipeGrowth(fd)
        loop.add_reader(fd, self._ready)

    def _ready(self) -> None:
        try:
            data = os.read(self._fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        self._growth.read(len(data))
        try:
            if not data:
                self._watch.check_exit()
                self.close()
                return
            lines = self._splitter.feed(data)
            if lines:
                self._deliver(lines)
        except Exception as exc:  # surfaces in run_process, not in the loop's log
            self._watch.failed(exc)

    def close(self) -> None:
        """Stop reading; hand out a partial last line. Idempotent."""
        if not self._open:
            return
        self._open = False
        self._loop.remove_reader(self._fd)
        try:
            rest = self._splitter.finish()
            if rest:
                self._deliver(rest)
        finally:
            self._watch.stream_ended()


async def _read_pipe_task(fd: int, deliver: Callable[[list[str]], None], watch: _Watch) -> None:
    """The same as _PipeReader for event loops other than asyncio."""
    splitter = LineSplitter()
    growth = _PipeGrowth(fd)
    try:
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
            growth.read(len(data))
            lines = splitter.feed(data)
            if lines:
                deliver(lines)
    finally:
        rest = splitter.finish()
        if rest:
            deliver(rest)
        watch.stream_ended()


def _watch_exit(loop: asyncio.AbstractEventLoop, watch: _Watch) -> bool:
    """Reap the process from a loop callback when its pidfd turns readable (Linux).
    False when there is no pidfd: the caller reaps in a thread instead."""
    if not hasattr(os, "pidfd_open"):
        return False
    try:
        pidfd = os.pidfd_open(watch.pid)
    except OSError:
        return False

    def exited() -> None:
        try:
            reaped, wait_status, rusage = os.wait4(watch.pid, os.WNOHANG)
        except ChildProcessError as exc:
            reaped = -1
            watch.failed(exc)
        if reaped == 0:
            return  # not yet (a spurious wake-up, or a pipe ended first)
        watch.reap = None
        loop.remove_reader(pidfd)
        os.close(pidfd)
        if reaped > 0:
            watch.reaped(wait_status, rusage)

    loop.add_reader(pidfd, exited)
    watch.reap = exited
    return True


async def _reap_in_thread(watch: _Watch) -> None:
    """Reap the process in a worker thread (where there is no pidfd)."""
    _, wait_status, rusage = await anyio.to_thread.run_sync(
        os.wait4, watch.pid, 0, limiter=_WAIT_LIMITER
    )
    watch.reaped(wait_status, rusage)


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
