"""Reading a definition file (or the secrets file) without trusting what sits at its path.

A workspace is edited by people and by tools, and sometimes by accident: a FIFO named
`x.toml` would block every reader forever, a symlink to `/dev/zero` would be read until
memory runs out. Only regular files are opened (a FIFO is opened non-blocking, and only to
check what it is), and no more than `MAX_FILE_BYTES` of one is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_FILE_BYTES = 1024 * 1024
MAX_FILE_TEXT = "1 MiB"


class UnreadableFile(Exception):
    """A file that is not read: the message says what it is and what to do."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _not_regular(path: Path, mode: int) -> UnreadableFile:
    kind = _kind(mode)
    if path.is_symlink():
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        kind = f"a symbolic link to {kind} ({target})"
    return UnreadableFile(
        f"not a regular file but {kind}; definitions are read only from regular files: "
        "remove it or replace it with a file"
    )


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):.1f} MiB" if count >= 1024 * 1024 else f"{count} bytes"


def _too_large(size: int, limit: int) -> UnreadableFile:
    return UnreadableFile(
        f"file is larger than {MAX_FILE_TEXT if limit == MAX_FILE_BYTES else _size(limit)} "
        f"({_size(size)}), the most a definition file may hold: split it, or remove what "
        "does not belong in it"
    )


def read_regular_file(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at `path` (symlinks to regular files are followed).

    Raises FileNotFoundError when nothing is there, UnreadableFile for anything else that
    is not read: a FIFO, a device, a folder, a file over `limit` bytes, a read error.
    """
    try:
        before = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise UnreadableFile(
                f"a symbolic link to a missing file ({os.readlink(path)}): "
                "remove it or point it at a file"
            ) from None
        raise
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror}") from None
    if not stat.S_ISREG(before.st_mode):
        raise _not_regular(path, before.st_mode)
    if before.st_size > limit:
        raise _too_large(before.st_size, limit)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror}") from None
    try:
        opened = os.fstat(fd)
        # Swapped between the stat and the open: check what was opened, not the name.
        if not stat.S_ISREG(opened.st_mode):
            raise _not_regular(path, opened.st_mode)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(limit + 1 - total, 256 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise _too_large(max(total, opened.st_size), limit)
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror}") from None
    finally:
        os.close(fd)


def definition_file_problem(path: Path) -> str | None:
    """Why `path` is not a usable regular file (for checks that only look), or None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    return str(_not_regular(path, mode))
