"""FTP and explicit FTPS (`tls = true`) with the standard library's ftplib.

TLS certificates are verified (against `ca_file` when given, else the system store);
`verify = false` turns that off and is logged as a warning. File names travel as UTF-8.
"""

from __future__ import annotations

import ftplib
import posixpath
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from duftui.steps.errors import TransferError
from duftui.steps.remote.base import Entry, Remote

SPACE_CODES = ("452", "552")


class FtpRemote(Remote):
    kind = "ftp"

    def __init__(self, name: str, values: dict[str, Any], workspace: Path) -> None:
        super().__init__(name, values.get("base_path"))
        self.values = values
        self.workspace = workspace
        self.ftp: ftplib.FTP | None = None

    @property
    def label(self) -> str:
        scheme = "ftps" if self.values.get("tls") else "ftp"
        return f"{scheme} {self.name} ({self.values['host']}:{self.values.get('port') or 21})"

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except ftplib.error_temp as exc:
            raise TransferError(f"{self.label}: {what}: {exc}", transient=True) from None
        except ftplib.error_perm as exc:
            text = str(exc)
            if text.startswith("530"):
                text = f"login refused ({text}; wrong user name or password?)"
            elif text.startswith(SPACE_CODES):
                text = f"the server is out of space ({text})"
            raise TransferError(f"{self.label}: {what}: {text}") from None
        except ssl.SSLCertVerificationError as exc:
            raise TransferError(
                f"{self.label}: {what}: TLS certificate not trusted ({exc.verify_message}); "
                "set ca_file on the connection to the server's CA certificate"
            ) from None
        except ssl.SSLError as exc:
            raise TransferError(f"{self.label}: {what}: TLS error ({exc.reason or exc})") from None
        except ConnectionRefusedError:
            raise TransferError(
                f"{self.label}: {what}: connection refused (is the server running?)", transient=True
            ) from None
        except TimeoutError:
            raise TransferError(
                f"{self.label}: {what}: no answer in time", transient=True
            ) from None
        except (OSError, EOFError, ftplib.Error) as exc:
            raise TransferError(
                f"{self.label}: {what}: {exc or type(exc).__name__}", transient=True
            ) from None

    def _context(self) -> ssl.SSLContext:
        ca_file = self.values.get("ca_file")
        if ca_file:
            path = Path(str(ca_file)).expanduser()
            ca_file = str(path if path.is_absolute() else self.workspace / path)
        context = ssl.create_default_context(cafile=ca_file)
        if self.values.get("verify") is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def connect(self) -> None:
        timeout = float(self.values.get("timeout") or 30)
        tls = bool(self.values.get("tls"))
        with self._errors("cannot connect"):
            ftp = (
                ftplib.FTP_TLS(context=self._context(), timeout=timeout)
                if tls
                else ftplib.FTP(timeout=timeout)
            )
            ftp.encoding = "utf-8"
            ftp.connect(str(self.values["host"]), int(self.values.get("port") or 21))
            self.ftp = ftp
        with self._errors("login failed"):
            ftp.login(
                str(self.values.get("username") or "anonymous"),
                str(self.values.get("password") or ""),
            )
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            ftp.set_pasv(self.values.get("passive", True) is not False)

    def close(self) -> None:
        if self.ftp is None:
            return
        try:
            self.ftp.quit()
        except (OSError, EOFError, ftplib.Error):
            self.ftp.close()
        self.ftp = None

    @property
    def client(self) -> ftplib.FTP:
        assert self.ftp is not None, "not connected"
        return self.ftp

    def listdir(self, path: str) -> list[Entry]:
        with self._errors(f"cannot list {path}"):
            try:
                found = list(self.client.mlsd(path, facts=["type", "size"]))
            except ftplib.error_perm as exc:
                if str(exc).startswith("550"):
                    return []
                if not str(exc).startswith(("500", "502")):
                    raise
                return [Entry(posixpath.basename(n), False) for n in self.client.nlst(path)]
        entries = []
        for name, facts in found:
            kind = facts.get("type", "file")
            if kind in ("cdir", "pdir") or name in (".", ".."):
                continue
            size = int(facts["size"]) if facts.get("size", "").isdigit() else None
            entries.append(Entry(name, kind == "dir", size))
        return entries

    def download(self, path: str, handle: BinaryIO) -> None:
        with self._errors(f"cannot download {path}"):
            self.client.retrbinary(f"RETR {path}", handle.write)

    def upload_file(self, local: Path, path: str) -> None:
        with self._errors(f"cannot upload to {path}"), open(local, "rb") as handle:
            self.client.storbinary(f"STOR {path}", handle)

    def exists(self, path: str) -> bool:
        folder, name = posixpath.split(path)
        return any(e.name == name for e in self.listdir(folder or "."))

    def rename(self, source: str, target: str, replace: bool) -> None:
        with self._errors(f"cannot rename {source} to {target}"):
            if self.exists(target):
                if not replace:
                    raise TransferError(
                        f"{self.label}: {target} already exists and overwrite = false"
                    )
                self.client.delete(target)
            self.client.rename(source, target)

    def remove(self, path: str) -> None:
        with self._errors(f"cannot delete {path}"):
            self.client.delete(path)

    def makedirs(self, path: str) -> None:
        if path in ("", ".", "/"):
            return
        current = "/" if path.startswith("/") else ""
        for part in [p for p in path.split("/") if p]:
            current = posixpath.join(current, part) if current else part
            parent, name = posixpath.split(current)
            if any(e.name == name and e.is_dir for e in self.listdir(parent or ".")):
                continue
            with self._errors(f"cannot create folder {current}"):
                self.client.mkd(current)
