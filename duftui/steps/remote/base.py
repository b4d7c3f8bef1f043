"""What every file transport offers, and the logic they share: glob matching over a
directory listing, and uploads that never leave a half-written file under the final name
(upload to `.NAME.<random>.part`, then rename, honouring `overwrite`).

Every name a server lists passes `safe_names.name_problem` before it becomes part of a
path: a name holding `/`, `\\`, NUL or control characters, or `.`/`..`, is skipped and
recorded in `refused` (the files step logs each one). An upload's file name is checked
the same way, so it never climbs out of the folder it is sent to."""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from duftui.steps.errors import TransferError
from duftui.steps.safe_names import UnsafeName, check_name, name_problem
from duftui.steps.safe_write import temp_name

Warn = Callable[[str], None]

WILDCARDS = ("*", "?", "[")
MAX_DEPTH = 64  # folders below a glob's base; a listing that loops stops here


@dataclass(frozen=True)
class Entry:
    """One item of a directory listing."""

    name: str
    is_dir: bool
    size: int | None = None


@dataclass(frozen=True)
class Found:
    """A matched remote file: its full path and its path relative to the glob's base."""

    path: str
    rel: str
    size: int | None = None


class Remote:
    """A connected file transport; use as a context manager.

    Paths are POSIX-style strings ("reports/2026/a.csv"); a relative path is taken
    relative to the connection's `base_path` (or the login folder).
    """

    kind = "remote"

    def __init__(self, name: str, base_path: str | None = None) -> None:
        self.name = name
        self.base_path = base_path
        self.refused: list[str] = []

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def __enter__(self) -> Remote:
        self.connect()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- primitives, per transport -----------------------------------------------------

    def connect(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def listdir(self, path: str) -> list[Entry]:
        raise NotImplementedError

    def download(self, path: str, handle: BinaryIO) -> None:
        """Copy the remote file into an open local file (the caller chose and created it)."""
        raise NotImplementedError

    def upload_file(self, local: Path, path: str) -> None:
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        raise NotImplementedError

    def rename(self, source: str, target: str, replace: bool) -> None:
        raise NotImplementedError

    def remove(self, path: str) -> None:
        raise NotImplementedError

    def makedirs(self, path: str) -> None:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------

    def resolve(self, path: str) -> str:
        if self.base_path and not path.startswith("/"):
            return posixpath.join(self.base_path, path)
        return path

    def glob(self, pattern: str, recursive: bool = False) -> list[Found]:
        """Files matching a glob (`*`, `?`, `[…]` in any path component). With `recursive`
        the last component also matches in every folder below the base. A pattern without
        wildcards names one file, or a folder whose files are all taken."""
        full = self.resolve(pattern)
        parts = [p for p in full.split("/") if p not in ("", ".")]
        lead = "/" if full.startswith("/") else ""
        index = next((i for i, part in enumerate(parts) if any(c in part for c in WILDCARDS)), None)
        if index is None:
            base = lead + "/".join(parts[:-1]) if len(parts) > 1 else (lead or ".")
            name = parts[-1] if parts else ""
            entry = next((e for e in self.safe_entries(base) if e.name == name), None)
            if entry is None:
                return []
            if not entry.is_dir:
                return [Found(posixpath.join(base, name), name, entry.size)]
            return self._walk(posixpath.join(base, name), "", ["*"], recursive)
        base = lead + "/".join(parts[:index]) if index else (lead or ".")
        return self._walk(base, "", parts[index:], recursive)

    def safe_entries(self, folder: str) -> list[Entry]:
        """The listing of `folder` without the names that are not plain file names."""
        entries = []
        for entry in self.listdir(folder):
            problem = name_problem(entry.name)
            if problem is None:
                entries.append(entry)
            else:
                self.refused.append(
                    f"{self.label}: skipped the name {entry.name!r} listed in {folder}: {problem}"
                )
        return entries

    def _walk(self, folder: str, rel: str, patterns: list[str], recursive: bool) -> list[Found]:
        found: list[Found] = []
        if rel and rel.count("/") + 1 > MAX_DEPTH:
            self.refused.append(
                f"{self.label}: not listing {folder}: more than {MAX_DEPTH} folders deep "
                "(a folder that contains itself?)"
            )
            return found
        pattern, rest = patterns[0], patterns[1:]
        for entry in sorted(self.safe_entries(folder), key=lambda e: e.name):
            path = posixpath.join(folder, entry.name)
            inner = posixpath.join(rel, entry.name) if rel else entry.name
            if rest:
                if entry.is_dir and fnmatch.fnmatchcase(entry.name, pattern):
                    found.extend(self._walk(path, inner, rest, recursive))
                continue
            if entry.is_dir:
                if recursive:
                    found.extend(self._walk(path, inner, patterns, recursive))
            elif fnmatch.fnmatchcase(entry.name, pattern):
                found.append(Found(path, inner, entry.size))
        return found

    def put(
        self,
        local: Path,
        folder: str,
        overwrite: bool,
        name: str | None = None,
        warn: Warn | None = None,
    ) -> str:
        """Upload `local` into `folder`; returns the remote path. Fails at once when the
        target exists and `overwrite` is false, or when the file name is not a plain name.
        A failed upload's partial file is removed (over a new connection if the old one
        dropped); `warn` hears what was removed, or what could not be."""
        final_name = name or local.name
        try:
            check_name(final_name, "file name")
        except UnsafeName as exc:
            raise TransferError(f"{self.label}: not uploading {local}: {exc}") from None
        folder = self.resolve(folder)
        self.makedirs(folder)
        final = posixpath.join(folder, final_name)
        if not overwrite and self.exists(final):
            raise TransferError(f"{self.label}: {final} already exists and overwrite = false")
        temporary = posixpath.join(folder, temp_name(final_name))
        try:
            self.upload_file(local, temporary)
            self.rename(temporary, final, replace=overwrite)
        except TransferError:
            self.discard(temporary, warn, reconnect=True)
            raise
        except BaseException:  # SIGTERM: one quick try on the connection we have
            self.discard(temporary, warn, reconnect=False)
            raise
        return final

    def discard(self, temporary: str, warn: Warn | None, reconnect: bool) -> None:
        """Remove a partial upload, best effort: on this connection, then (when it has
        dropped and `reconnect`) on a new one. Silent when nothing was left behind."""
        last: Exception | None = None
        for fresh in (False, True) if reconnect else (False,):
            try:
                if fresh:
                    self.close()
                    self.connect()
                if not self.exists(temporary):
                    return
                self.remove(temporary)
            except (TransferError, OSError) as exc:
                last = exc
                continue
            if warn is not None:
                how = " over a new connection" if fresh else ""
                warn(f"{self.label}: removed the partial upload {temporary}{how}")
            return
        if warn is not None:
            warn(
                f"{self.label}: could not remove the partial upload {temporary} ({last}); "
                "remove it by hand"
            )
