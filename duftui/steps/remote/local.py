"""Local folders as a transport (files source and `kind = "local"` delivery).

A delivery is written through safe_write: a private `O_EXCL | O_NOFOLLOW` temporary file,
then a rename. A symlink planted at the temporary name is never opened; one planted at
the final name is replaced as a directory entry (its target is never written) when
`overwrite = true`, and counts as an existing file when it is false."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from duftui.steps.errors import TransferError, os_error_text
from duftui.steps.remote.base import Entry, Remote, Warn
from duftui.steps.safe_names import UnsafeName, check_name
from duftui.steps.safe_write import write_safely

TRANSIENT_ERRNOS = {errno.EAGAIN, errno.EBUSY, errno.ETIMEDOUT, errno.EINTR}


class LocalRemote(Remote):
    """Paths relative to the workspace root unless absolute; `~` is expanded."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        super().__init__("folder", str(root))

    @property
    def label(self) -> str:
        return "local"

    def resolve(self, path: str) -> str:
        return str(Path(self.base_path or ".") / Path(path).expanduser())

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise TransferError(
                f"local: {what}: {os_error_text(exc)}", transient=exc.errno in TRANSIENT_ERRNOS
            ) from None

    def connect(self) -> None:
        """Nothing to connect."""

    def close(self) -> None:
        """Nothing to close."""

    def listdir(self, path: str) -> list[Entry]:
        if not os.path.isdir(path):
            return []
        with self._errors(f"cannot list {path}"):
            entries = []
            for item in os.scandir(path):
                is_dir = item.is_dir()
                entries.append(Entry(item.name, is_dir, None if is_dir else item.stat().st_size))
            return entries

    def download(self, path: str, handle: BinaryIO) -> None:
        with self._errors(f"cannot copy {path}"), open(path, "rb") as source:
            shutil.copyfileobj(source, handle, 1 << 20)

    def put(
        self,
        local: Path,
        folder: str,
        overwrite: bool,
        name: str | None = None,
        warn: Warn | None = None,
    ) -> str:
        final_name = name or local.name
        try:
            check_name(final_name, "file name")
        except UnsafeName as exc:
            raise TransferError(f"local: not copying {local}: {exc}") from None
        folder = self.resolve(folder)
        self.makedirs(folder)
        final = Path(folder) / final_name
        if not overwrite and os.path.lexists(final):
            raise TransferError(f"local: {final} already exists and overwrite = false")
        try:
            with open(local, "rb") as source, write_safely(final, overwrite) as (handle, written):
                shutil.copyfileobj(source, handle, 1 << 20)
        except FileExistsError:
            raise TransferError(f"local: {final} already exists and overwrite = false") from None
        except OSError as exc:
            raise TransferError(
                f"local: cannot write {final}: {os_error_text(exc)}",
                transient=exc.errno in TRANSIENT_ERRNOS,
            ) from None
        if written.replaced_link and warn is not None:
            warn(
                f"local: {final} was a symbolic link; it was replaced by the file "
                "(the link's target was not written)"
            )
        return str(final)

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def remove(self, path: str) -> None:
        with self._errors(f"cannot delete {path}"):
            os.unlink(path)

    def makedirs(self, path: str) -> None:
        with self._errors(f"cannot create folder {path}"):
            os.makedirs(path, exist_ok=True)
