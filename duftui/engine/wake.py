"""Waking a supervisor without busy polling: a datagram on a Unix socket in `.duftui/`.

Best effort by design: if nobody listens, the poke is dropped and the supervisor's
`PRAGMA data_version` check (a few times a second) picks the change up instead.

The supervisor waits for work in the worker thread that then claims it (`Doorbell`), so
a poke starts a run without a hop through the event loop.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
from pathlib import Path

import anyio

from duftui import locations


def poke(workspace: Path) -> bool:
    """Send one byte to the wake socket; True if someone was listening."""
    path = locations.wake_socket(workspace)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        try:
            sock.sendto(b"!", str(path))
            return True
        except OSError:  # nobody listens (no socket file, or a stale one)
            return False


class WakeListener:
    """Binds the wake socket and waits for pokes."""

    def __init__(self, workspace: Path) -> None:
        self.path = locations.wake_socket(workspace)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(self.path))
        self._sock.setblocking(False)

    def fileno(self) -> int:
        return self._sock.fileno()

    def drain(self) -> None:
        """Consume the pokes that queued up (one wake-up is enough for all of them)."""
        with contextlib.suppress(BlockingIOError, OSError):
            while self._sock.recv(64):
                pass

    async def wait(self) -> None:
        """Return after the next poke (draining any that queued up)."""
        await anyio.wait_readable(self._sock)
        self.drain()

    def close(self) -> None:
        self._sock.close()
        with contextlib.suppress(FileNotFoundError, OSError):
            if self.path.exists():
                os.unlink(self.path)


class Doorbell:
    """Wakes a thread blocked in `wait()`: `ring()` from any thread of this process, or a
    poke on the wake socket from another process. A ring before the wait is not lost."""

    def __init__(self, listener: WakeListener | None = None) -> None:
        self._listener = listener
        self._lock = threading.Lock()
        self._fds: tuple[int, int] | None = None
        self.open()

    def open(self) -> None:
        with self._lock:
            if self._fds is not None:
                return
            read, write = os.pipe()
            os.set_blocking(read, False)
            os.set_blocking(write, False)
            self._fds = (read, write)
            self._poll = select.poll()
            self._poll.register(read, select.POLLIN)
            if self._listener is not None:
                self._poll.register(self._listener.fileno(), select.POLLIN)

    def ring(self) -> None:
        with self._lock:
            if self._fds is not None:
                with contextlib.suppress(BlockingIOError, OSError):
                    os.write(self._fds[1], b"!")

    def wait(self, timeout: float | None) -> bool:
        """Block until rung or poked (True) or until `timeout` seconds pass (False)."""
        fds = self._fds
        if fds is None:
            return False
        if timeout is None:
            ready = self._poll.poll(None)
        else:  # poll() takes whole milliseconds: round up, never wake early
            ready = self._poll.poll(0 if timeout <= 0 else int(timeout * 1000) + 1)
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(fds[0], 512):
                pass
        if self._listener is not None:
            self._listener.drain()
        return bool(ready)

    def close(self) -> None:
        with self._lock:
            if self._fds is None:
                return
            for fd in self._fds:
                os.close(fd)
            self._fds = None
