"""Waking a supervisor without busy polling: a datagram on a Unix socket in `.duftui/`.

Best effort by design: if nobody listens, the poke is dropped and the supervisor's
`PRAGMA data_version` check (about once a second) picks the change up instead.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

import anyio

from duftui import locations


def poke(workspace: Path) -> bool:
    """Send one byte to the wake socket; True if someone was listening."""
    path = locations.wake_socket(workspace)
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        try:
            sock.sendto(b"!", str(path))
            return True
        except OSError:
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

    async def wait(self) -> None:
        """Return after the next poke (draining any that queued up)."""
        await anyio.wait_readable(self._sock)
        with contextlib.suppress(BlockingIOError):
            while self._sock.recv(64):
                pass

    def close(self) -> None:
        self._sock.close()
        with contextlib.suppress(FileNotFoundError, OSError):
            if self.path.exists():
                os.unlink(self.path)
