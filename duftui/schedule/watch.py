"""Noticing edited definitions without busy polling: inotify on Linux (through ctypes, no
extra dependency), else a cheap poll of modification times about once a second.

Only what can change definitions counts: `connections.toml`, `*.toml` under `tasks/` and
folders appearing or vanishing there. Scripts writing data files do not wake the daemon.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import struct
import time
from pathlib import Path

import anyio

from duftui.definitions.loader import CONNECTIONS_FILE, NON_TASK_DIRS, TASKS_DIR

_IN_MODIFY = 0x2
_IN_ATTRIB = 0x4
_IN_CLOSE_WRITE = 0x8
_IN_MOVED_FROM = 0x40
_IN_MOVED_TO = 0x80
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_Q_OVERFLOW = 0x4000
_IN_ISDIR = 0x40000000
_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
_MASK = (
    _IN_CLOSE_WRITE
    | _IN_MOVED_FROM
    | _IN_MOVED_TO
    | _IN_CREATE
    | _IN_DELETE
    | _IN_DELETE_SELF
    | _IN_ATTRIB
)
_EVENT = struct.Struct("iIII")
SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints"}


def _relevant(name: str, mask: int, where: str) -> bool:
    """`where` is "root", "tasks" (the folder holding projects) or "inside" a project."""
    if mask & (_IN_Q_OVERFLOW | _IN_DELETE_SELF):
        return True
    if where == "root":
        return name in (CONNECTIONS_FILE, TASKS_DIR)
    if mask & _IN_ISDIR:
        return _definition_dir(name, where == "tasks")
    return name.endswith(".toml")


def _definition_dir(name: str, project_level: bool) -> bool:
    """Folders that may hold definitions (the loader skips scripts/, data/ and the like)."""
    if name.startswith((".", "_")) or name in SKIP_DIRS:
        return False
    return project_level or name not in NON_TASK_DIRS


def definition_dirs(root: Path) -> list[Path]:
    """The workspace root, `tasks/` and every folder under it that may hold definitions."""
    folders = [root]
    tasks = root / TASKS_DIR
    if not tasks.is_dir():
        return folders
    for folder, dirs, _files in os.walk(tasks):
        dirs[:] = [d for d in dirs if _definition_dir(d, Path(folder) == tasks)]
        folders.append(Path(folder))
    return folders


class PollWatcher:
    """Compares a signature (path, mtime, size) of the definition files every `interval`."""

    kind = "poll"

    def __init__(self, root: Path, interval: float = 1.0) -> None:
        self.root = root
        self.interval = interval
        self._last = self._signature()

    def _signature(self) -> frozenset[tuple[str, int, int]]:
        found: set[tuple[str, int, int]] = set()
        with contextlib.suppress(OSError):
            stat = (self.root / CONNECTIONS_FILE).stat()
            found.add((CONNECTIONS_FILE, stat.st_mtime_ns, stat.st_size))
        for folder in definition_dirs(self.root)[1:]:
            with contextlib.suppress(OSError), os.scandir(folder) as entries:
                for item in entries:
                    if item.name.endswith(".toml") and item.is_file():
                        with contextlib.suppress(OSError):
                            stat = item.stat()
                            found.add((item.path, stat.st_mtime_ns, stat.st_size))
        return frozenset(found)

    async def wait(self) -> None:
        while True:
            await anyio.sleep(self.interval)
            current = await anyio.to_thread.run_sync(self._signature)
            if current != self._last:
                self._last = current
                return

    def rescan(self) -> None:
        self._last = self._signature()

    def close(self) -> None:
        pass


class InotifyWatcher:
    """Watches the workspace root and every folder under `tasks/`; the daemon sleeps in
    the event loop until the kernel reports a relevant change."""

    kind = "inotify"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fd = self._libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self.fd = fd
        self._watches: dict[int, Path] = {}
        self.rescan()

    def _add(self, path: Path) -> None:
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(path), _MASK)
        if wd >= 0:
            self._watches[wd] = path

    def rescan(self) -> None:
        """Watch folders created since the last scan (call after each reload)."""
        known = set(self._watches.values())
        for folder in definition_dirs(self.root):
            if folder not in known:
                self._add(folder)

    def _drain(self) -> bool:
        relevant = False
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return relevant
            offset = 0
            while offset + _EVENT.size <= len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                raw = data[offset + _EVENT.size : offset + _EVENT.size + length]
                offset += _EVENT.size + length
                name = raw.split(b"\0", 1)[0].decode(errors="replace")
                folder = self._watches.get(wd)
                where = (
                    "root"
                    if folder == self.root
                    else ("tasks" if folder == self.root / TASKS_DIR else "inside")
                )
                if mask & _IN_DELETE_SELF:
                    self._watches.pop(wd, None)
                if _relevant(name, mask, where):
                    relevant = True

    async def wait(self) -> None:
        while True:
            await anyio.wait_readable(self.fd)
            if self._drain():
                return

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


Watcher = PollWatcher | InotifyWatcher


def open_watcher(root: Path) -> Watcher:
    """inotify when the kernel offers it (unless DUFTUI_WATCH=poll), else polling."""
    if os.environ.get("DUFTUI_WATCH") != "poll":
        try:
            return InotifyWatcher(root)
        except (OSError, AttributeError):
            pass
    return PollWatcher(root)


async def settle(watcher: Watcher, quiet: float = 0.2, longest: float = 2.0) -> None:
    """After a change, wait until the files are quiet (an editor saving several files)."""
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline:
        with anyio.move_on_after(quiet) as scope:
            await watcher.wait()
        if scope.cancelled_caught:
            return
