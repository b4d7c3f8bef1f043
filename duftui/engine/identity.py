"""Who is running what, where: identities that survive pid reuse.

A supervisor is "host:pid:start-time". A run records its task process's pid and start time
too, so recovery can tell a live process from a new one that reused the pid.
"""

from __future__ import annotations

import os
import socket
import time

import psutil

_HOST = socket.gethostname()


def this_host() -> str:
    return _HOST


def start_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


def start_time_now() -> float:
    """What `start_time()` will report for a process started at this instant, without
    reading /proc/PID (that read waits while a new process is still in exec).

    On Linux psutil reports boot time plus the kernel's start tick, which counts on
    CLOCK_BOOTTIME; the wall clock can be a second or more away from that, so it is used
    only where that clock does not exist.
    """
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is not None:
        try:
            return psutil.boot_time() + time.clock_gettime(boottime)
        except (OSError, psutil.Error):
            pass
    return time.time()


def process_identity(pid: int | None = None) -> str:
    pid = pid or os.getpid()
    return f"{_HOST}:{pid}:{start_time(pid) or 0:.2f}"


def process_alive(pid: int | None, started: float | None) -> bool:
    """True if `pid` runs and started when recorded (within clock rounding)."""
    if not pid:
        return False
    actual = start_time(pid)
    if actual is None:
        return False
    try:
        if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return False
    except psutil.Error:
        return False
    return started is None or abs(actual - started) < 1.0


def identity_alive(identity: str | None) -> bool | None:
    """Whether a supervisor identity is alive; None when it lives on another host."""
    if not identity:
        return False
    try:
        host, pid, started = identity.rsplit(":", 2)
        pid_number, started_at = int(pid), float(started)
    except ValueError:
        return False
    if host != _HOST:
        return None
    return process_alive(pid_number, started_at or None)
