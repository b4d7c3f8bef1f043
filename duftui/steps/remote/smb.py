"""SMB 2/3 shares with smbprotocol's `smbclient` (an extra: `duftui[smb]`)."""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from duftui.steps.errors import StepError, TransferError
from duftui.steps.remote.base import Entry, Remote

TRANSIENT_ERRNOS = {errno.ETIMEDOUT, errno.EAGAIN, errno.ECONNRESET, errno.EBUSY}


class SmbRemote(Remote):
    kind = "smb"

    def __init__(self, name: str, values: dict[str, Any]) -> None:
        super().__init__(name, values.get("base_path"))
        self.values = values
        self.host = str(values["host"])
        self.port = int(values.get("port") or 445)
        self.share = str(values["share"]).strip("\\/")
        username = values.get("username")
        if username and values.get("domain"):
            username = f"{values['domain']}\\{username}"
        self.options: dict[str, Any] = {
            "username": username,
            "password": values.get("password"),
            "port": self.port,
            "connection_timeout": float(values.get("timeout") or 30),
        }
        try:
            import smbclient
        except ImportError:
            raise StepError("SMB needs smbprotocol: pip install 'duftui[smb]'") from None
        self.smb: Any = smbclient

    @property
    def label(self) -> str:
        return f"smb {self.name} (//{self.host}:{self.port}/{self.share})"

    def unc(self, path: str) -> str:
        inner = path.replace("/", "\\").strip("\\")
        inner = "" if inner == "." else inner
        return f"\\\\{self.host}\\{self.share}" + (f"\\{inner}" if inner else "")

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        from smbprotocol.exceptions import (
            LogonFailure,
            SMBAuthenticationError,
            SMBConnectionClosed,
            SMBException,
        )

        try:
            yield
        except (SMBAuthenticationError, LogonFailure):
            raise TransferError(
                f"{self.label}: {what}: login refused for "
                f"{self.options['username']} (wrong user name or password?)"
            ) from None
        except SMBConnectionClosed as exc:
            raise TransferError(
                f"{self.label}: {what}: connection closed ({exc})", transient=True
            ) from None
        except ValueError as exc:  # smbprotocol reports "Failed to connect to …" this way
            raise TransferError(f"{self.label}: {what}: {exc}", transient=True) from None
        except OSError as exc:
            text = exc.strerror or str(exc)
            if exc.errno == errno.ENOSPC or "DISK_FULL" in str(exc):
                text = f"the server is out of space ({text})"
            raise TransferError(
                f"{self.label}: {what}: {text}", transient=exc.errno in TRANSIENT_ERRNOS
            ) from None
        except SMBException as exc:
            raise TransferError(f"{self.label}: {what}: {exc}") from None

    def connect(self) -> None:
        options = {k: v for k, v in self.options.items() if k != "connection_timeout"}
        with self._errors("cannot connect"):
            self.smb.register_session(
                self.host, **options, connection_timeout=self.options["connection_timeout"]
            )
            self.smb.listdir(self.unc(""), **self._kw)

    @property
    def _kw(self) -> dict[str, Any]:
        return {
            "username": self.options["username"],
            "password": self.options["password"],
            "port": self.port,
        }

    def close(self) -> None:
        try:
            self.smb.delete_session(self.host, port=self.port)
        except (OSError, ValueError, KeyError):
            pass

    def listdir(self, path: str) -> list[Entry]:
        from smbprotocol.exceptions import SMBOSError

        entries = []
        with self._errors(f"cannot list {path}"):
            try:
                items = list(self.smb.scandir(self.unc(path), **self._kw))
            except SMBOSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                    return []
                raise
            for item in items:
                is_dir = item.is_dir()
                entries.append(Entry(item.name, is_dir, None if is_dir else _size(item)))
        return entries

    def download(self, path: str, handle: BinaryIO) -> None:
        with (
            self._errors(f"cannot download {path}"),
            self.smb.open_file(self.unc(path), mode="rb", **self._kw) as remote,
        ):
            shutil.copyfileobj(remote, handle, 1 << 20)

    def upload_file(self, local: Path, path: str) -> None:
        with (
            self._errors(f"cannot upload to {path}"),
            open(local, "rb") as handle,
            self.smb.open_file(self.unc(path), mode="wb", **self._kw) as remote,
        ):
            shutil.copyfileobj(handle, remote, 1 << 20)

    def exists(self, path: str) -> bool:
        with self._errors(f"cannot check {path}"):
            return bool(self.smb.path.exists(self.unc(path), **self._kw))

    def rename(self, source: str, target: str, replace: bool) -> None:
        with self._errors(f"cannot rename {source} to {target}"):
            move = self.smb.replace if replace else self.smb.rename
            move(self.unc(source), self.unc(target), **self._kw)

    def remove(self, path: str) -> None:
        with self._errors(f"cannot delete {path}"):
            self.smb.remove(self.unc(path), **self._kw)

    def makedirs(self, path: str) -> None:
        if path in ("", ".", "/"):
            return
        with self._errors(f"cannot create folder {path}"):
            self.smb.makedirs(self.unc(path), exist_ok=True, **self._kw)


def _size(item: Any) -> int | None:
    """From the directory listing itself: `DirEntry.stat()` would reconnect on port 445,
    whatever port the session uses (smbprotocol 1.x)."""
    try:
        return int(item.smb_info["end_of_file"].get_value())
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
