"""Local writes that no planted link can redirect.

A file is written under a fresh temporary name beside its final name, created with
`O_CREAT | O_EXCL | O_NOFOLLOW` (so neither an existing file nor a symlink at that name
is ever opened) and an unpredictable suffix, then moved to its final name:

- with overwrite, by `rename(2)`, which replaces whatever is at the final name, a
  symlink included, as a directory entry: the link's target is never written;
- without overwrite, by `link(2)`, which fails when anything (even a dangling link) holds
  the final name, so the check and the move are one step.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
TEMP_NAME_MAX = 200  # keeps ".NAME.xxxxxxxx.part" within a 255-byte file name


def temp_name(final: str) -> str:
    """`.NAME.<random>.part`: hidden, unpredictable, recognisable as unfinished."""
    return f".{final[:TEMP_NAME_MAX]}.{secrets.token_hex(4)}.part"


def create_temp(final: Path) -> tuple[int, Path]:
    """A new, empty file beside `final` that nobody else had a name for: (fd, path)."""
    for _ in range(20):
        temp = final.with_name(temp_name(final.name))
        try:
            return os.open(temp, CREATE_FLAGS, 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(final))


def publish(temp: Path, final: Path, overwrite: bool) -> bool:
    """Move the finished `temp` to `final` (see the module docstring). Returns True when a
    symlink stood at `final` and was replaced (the caller says so in the log).
    FileExistsError when `final` exists and `overwrite` is false."""
    if overwrite:
        was_link = os.path.islink(final)
        os.replace(temp, final)
        return was_link
    try:
        os.link(temp, final, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # a file system without hard links: check, then rename (never writes through a link)
        if os.path.lexists(final):
            raise FileExistsError(errno.EEXIST, "the target already exists", str(final)) from None
        os.rename(temp, final)
        return False
    os.unlink(temp)
    return False


@dataclass
class Written:
    """What `write_safely` did: the final path, and whether a symlink there was replaced."""

    path: Path
    replaced_link: bool = False


@contextmanager
def write_safely(final: Path, overwrite: bool = True) -> Iterator[tuple[BinaryIO, Written]]:
    """A binary handle on a private temporary file that becomes `final` when the block
    ends without an error; on any error the temporary file is removed."""
    fd, temp = create_temp(final)
    result = Written(final)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle, result
        result.replaced_link = publish(temp, final, overwrite)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise


def exists(path: Path) -> bool:
    """True for anything at `path`, a dangling symlink included."""
    return os.path.lexists(path)
