"""File transports for the files source and for deliveries: local, SFTP, FTP(S), SMB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from duftui.steps.errors import StepError
from duftui.steps.remote.base import Entry, Found, Remote

__all__ = ["Entry", "Found", "Remote", "open_remote"]


def open_remote(
    kind: str, name: str | None, connections: dict[str, dict[str, Any]], workspace: Path
) -> Remote:
    """A transport (not yet connected) for a delivery kind or a files source."""
    if kind == "local" or name is None:
        from duftui.steps.remote.local import LocalRemote

        return LocalRemote(workspace)
    values = connections.get(name)
    if values is None:
        raise StepError(
            f"connection {name!r} was not handed to this run (is it defined in "
            "connections.toml without errors?)"
        )
    ctype = values.get("type")
    if kind not in ("files", ctype) and not (kind == "sftp" and ctype == "ssh"):
        raise StepError(f"connection {name} is a {ctype} connection, not {kind}")
    if ctype in ("sftp", "ssh"):
        from duftui.steps.remote.sftp import SftpRemote

        return SftpRemote(name, values, workspace)
    if ctype == "ftp":
        from duftui.steps.remote.ftp import FtpRemote

        return FtpRemote(name, values, workspace)
    if ctype == "smb":
        from duftui.steps.remote.smb import SmbRemote

        return SmbRemote(name, values)
    raise StepError(
        f"connection {name} is a {ctype} connection; files move over sftp, ftp, "
        "smb or a local folder"
    )
