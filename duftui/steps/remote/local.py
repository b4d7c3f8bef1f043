"""Local folders as a transport (files source and `kind = "local"` delivery)."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from duftui.steps.errors import TransferError, os_error_text
from duftui.steps.remote.base import Entry, Remote

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

    def download(self, path: str, local: Path) -> None:
        with self._errors(f"cannot copy {path} to {local}"):
            shutil.copyfile(path, local)

    def upload_file(self, local: Path, path: str) -> None:
        with self._errors(f"cannot write {path}"):
            shutil.copyfile(local, path)

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def rename(self, source: str, target: str, replace: bool) -> None:
        with self._errors(f"cannot move {source} to {target}"):
            if not replace and os.path.lexists(target):
                raise FileExistsError(errno.EEXIST, "the target already exists")
            os.replace(source, target)

    def remove(self, path: str) -> None:
        with self._errors(f"cannot delete {path}"):
            os.unlink(path)

    def makedirs(self, path: str) -> None:
        with self._errors(f"cannot create folder {path}"):
            os.makedirs(path, exist_ok=True)
