"""`duftui daemon stop`: ask the daemon holding the lease to stop, and wait until it has.

The daemon stops the way SIGTERM tells it to (stop claiming, let running tasks finish for
its grace period, cancel the rest and record why), so this is what systemd does, for
people who started it with `--detach`.
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from duftui.engine.identity import identity_alive, this_host
from duftui.schedule import lease
from duftui.store.db import Store


@dataclass(frozen=True)
class StopResult:
    """What happened: `stopped` is False with `reason` when nothing could be stopped."""

    stopped: bool
    reason: str
    pid: int | None = None
    running: bool = False  # a daemon is running (on another host, or did not stop in time)


def stop_daemon(store: Store, timeout: float) -> StopResult:
    """SIGTERM the daemon of this state file and wait up to `timeout` seconds for it."""
    with store.read() as conn:
        info = lease.daemon_alive(conn)
    if info is None:
        return StopResult(False, "no daemon is running for this state file")
    if identity_alive(info.holder) is None:
        return StopResult(
            False,
            f"the daemon runs on {info.host} (pid {info.pid}), not on {this_host()}: "
            "stop it there",
            info.pid,
            running=True,
        )
    try:
        exited = _exit_watch(info.pid)
        os.kill(info.pid, signal.SIGTERM)
    except (psutil.NoSuchProcess, ProcessLookupError):
        return StopResult(True, f"the daemon (pid {info.pid}) had already exited", info.pid)
    except PermissionError:
        return StopResult(
            False,
            f"not allowed to signal the daemon (pid {info.pid}); run this as its user",
            info.pid,
            running=True,
        )
    if not exited(timeout):
        return StopResult(
            False,
            f"the daemon (pid {info.pid}) is still stopping after {timeout:g}s (it lets "
            "running tasks finish for its --grace period); see its log",
            info.pid,
            running=True,
        )
    return StopResult(True, f"daemon stopped (pid {info.pid})", info.pid)


def _exit_watch(pid: int) -> Callable[[float], bool]:
    """A wait for `pid` to exit that works for a process that is not our child.

    A pidfd turns readable when the process exits (even while it waits, a zombie, for its
    own parent to reap it), so nothing polls; without pidfds, psutil's status is polled.
    """
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        raise
    except (AttributeError, OSError):
        process = psutil.Process(pid)

        def polled(timeout: float) -> bool:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
                    return True
                time.sleep(0.1)
            return False

        return polled

    def watched(timeout: float) -> bool:
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
            return bool(ready)
        finally:
            os.close(fd)

    return watched
