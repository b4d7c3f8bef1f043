"""SFTP through asyncssh, behind the synchronous Remote interface (a private event loop
runs each operation, so steps stay simple sequential code)."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import asyncssh

from duftui.steps.errors import TransferError
from duftui.steps.remote.base import Entry, Remote
from duftui.steps.remote.sshconnect import describe, ssh_connect

T = TypeVar("T")
SPACE_WORDS = ("no space", "quota", "disk full")
CHUNK = 4 << 20  # asyncssh reads a chunk with parallel requests


class SftpRemote(Remote):
    kind = "sftp"

    def __init__(self, name: str, values: dict[str, Any], workspace: Path) -> None:
        super().__init__(name, values.get("base_path"))
        self.values = values
        self.workspace = workspace
        self.loop: asyncio.AbstractEventLoop | None = None
        self.conn: asyncssh.SSHClientConnection | None = None
        self.sftp: asyncssh.SFTPClient | None = None

    @property
    def label(self) -> str:
        return describe(self.name, self.values)

    def _run(self, coro: Coroutine[Any, Any, T], what: str) -> T:
        assert self.loop is not None
        try:
            return self.loop.run_until_complete(coro)
        except asyncssh.SFTPError as exc:
            raise self._sftp_error(exc, what) from None
        except (asyncssh.ConnectionLost, asyncssh.DisconnectError, ConnectionError) as exc:
            raise TransferError(
                f"{self.label}: {what}: connection lost ({exc})", transient=True
            ) from None
        except OSError as exc:
            raise TransferError(
                f"{self.label}: {what}: {exc.strerror or exc}",
                transient=exc.errno in (errno.ETIMEDOUT, errno.EAGAIN),
            ) from None

    def _sftp_error(self, exc: asyncssh.SFTPError, what: str) -> TransferError:
        reason = exc.reason or type(exc).__name__
        if isinstance(exc, asyncssh.SFTPNoSuchFile):
            reason = f"no such file or folder ({reason})"
        elif isinstance(exc, asyncssh.SFTPPermissionDenied):
            reason = f"permission denied ({reason})"
        elif any(word in reason.lower() for word in SPACE_WORDS):
            reason = f"the server is out of space ({reason})"
        return TransferError(
            f"{self.label}: {what}: {reason}",
            transient=isinstance(exc, asyncssh.SFTPConnectionLost),
        )

    def connect(self) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.conn = self.loop.run_until_complete(
                ssh_connect(self.name, self.values, self.workspace)
            )
            self.sftp = self._run(self.conn.start_sftp_client(), "starting SFTP")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.loop is None:
            return
        if self.conn is not None:
            self.conn.close()
            try:
                self.loop.run_until_complete(self.conn.wait_closed())
            except (OSError, asyncssh.Error):
                pass
        self.loop.close()
        self.loop = None
        self.conn = self.sftp = None

    @property
    def client(self) -> asyncssh.SFTPClient:
        assert self.sftp is not None, "not connected"
        return self.sftp

    def listdir(self, path: str) -> list[Entry]:
        async def read() -> list[Entry]:
            try:
                names = await self.client.readdir(path)
            except asyncssh.SFTPNoSuchFile:
                return []
            return [
                Entry(n.filename, n.attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY, n.attrs.size)
                for n in names
                if n.filename not in (".", "..")
            ]

        return self._run(read(), f"cannot list {path}")

    def download(self, path: str, handle: BinaryIO) -> None:
        async def copy() -> None:
            async with self.client.open(path, "rb", encoding=None) as remote:
                while chunk := await remote.read(CHUNK):
                    handle.write(chunk)

        self._run(copy(), f"cannot download {path}")

    def upload_file(self, local: Path, path: str) -> None:
        self._run(self.client.put(str(local), path), f"cannot upload to {path}")

    def exists(self, path: str) -> bool:
        return self._run(self.client.exists(path), f"cannot check {path}")

    def rename(self, source: str, target: str, replace: bool) -> None:
        async def move() -> None:
            if not replace:
                await self.client.rename(source, target)
                return
            try:
                await self.client.posix_rename(source, target)
            except asyncssh.SFTPOpUnsupported:
                if await self.client.exists(target):
                    await self.client.remove(target)
                await self.client.rename(source, target)

        self._run(move(), f"cannot rename {source} to {target}")

    def remove(self, path: str) -> None:
        self._run(self.client.remove(path), f"cannot delete {path}")

    def makedirs(self, path: str) -> None:
        if path in ("", ".", "/"):
            return
        self._run(self.client.makedirs(path, exist_ok=True), f"cannot create folder {path}")
