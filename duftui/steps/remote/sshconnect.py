"""Opening SSH connections with asyncssh, for SFTP transfers and SSH commands.

Host keys are always checked against a known_hosts file (the connection's `known_hosts`,
else ~/.ssh/known_hosts): an unknown host or a changed key is an error that says which,
never a prompt and never an automatic accept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncssh

from duftui.steps.errors import TransferError


def known_hosts_file(values: dict[str, Any], workspace: Path) -> Path:
    chosen = values.get("known_hosts") or "~/.ssh/known_hosts"
    path = Path(str(chosen)).expanduser()
    return path if path.is_absolute() else workspace / path


def describe(name: str, values: dict[str, Any]) -> str:
    return f"{values.get('type', 'ssh')} {name} ({values['host']}:{values.get('port') or 22})"


async def ssh_connect(
    name: str,
    values: dict[str, Any],
    workspace: Path,
) -> asyncssh.SSHClientConnection:
    """A connected, host-key-verified client; TransferError with a clear message if not."""
    host, port = str(values["host"]), int(values.get("port") or 22)
    label = describe(name, values)
    known = known_hosts_file(values, workspace)
    if not known.is_file():
        raise TransferError(
            f"{label}: known_hosts file {known} does not exist. duftui never accepts an "
            f"unknown host key: after checking the server's fingerprint, add it with "
            f"`ssh-keyscan -p {port} {host} >> {known}` (or set known_hosts on the connection)"
        )
    options: dict[str, Any] = {
        "known_hosts": _read_known_hosts(label, known, host, port),
        "connect_timeout": float(values.get("timeout") or 30),
    }
    if values.get("username"):
        options["username"] = str(values["username"])
    if values.get("password"):
        options["password"] = str(values["password"])
    if values.get("key_file"):
        key = Path(str(values["key_file"])).expanduser()
        options["client_keys"] = [str(key if key.is_absolute() else workspace / key)]
        if values.get("passphrase"):
            options["passphrase"] = str(values["passphrase"])
    elif values.get("password"):
        options["client_keys"] = None  # password login: do not try the user's own keys
        options["agent_path"] = None
    try:
        return await asyncssh.connect(host, port, **options)
    except asyncssh.HostKeyNotVerifiable:
        raise TransferError(_host_key_message(label, host, port, known)) from None
    except asyncssh.PermissionDenied:
        who = options.get("username") or "the current user"
        raise TransferError(
            f"{label}: login refused for {who} (wrong user name, password or key?)"
        ) from None
    except asyncssh.KeyImportError as exc:
        raise TransferError(f"{label}: cannot read key_file: {exc}") from None
    except ConnectionRefusedError:
        raise TransferError(
            f"{label}: connection refused (is the server running?)", transient=True
        ) from None
    except TimeoutError:
        raise TransferError(
            f"{label}: no answer within {options['connect_timeout']:g}s", transient=True
        ) from None
    except OSError as exc:
        raise TransferError(
            f"{label}: cannot connect: {exc.strerror or exc}", transient=True
        ) from None
    except asyncssh.Error as exc:
        raise TransferError(f"{label}: {exc.reason}", transient=True) from None


def _read_known_hosts(label: str, known: Path, host: str, port: int) -> asyncssh.SSHKnownHosts:
    """The parsed known_hosts file, or one sentence saying what is wrong with it."""
    try:
        return asyncssh.read_known_hosts(str(known))
    except UnicodeDecodeError:
        reason = "it is not a text file"
    except ValueError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "it cannot be parsed"
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
    raise TransferError(
        f"{label}: cannot read the known_hosts file {known}: {reason}; fix or replace it "
        f"(after checking the server's fingerprint, `ssh-keyscan -p {port} {host}` prints "
        "lines for it)"
    )


def _host_key_message(label: str, host: str, port: int, known: Path) -> str:
    try:
        trusted = asyncssh.read_known_hosts(str(known)).match(host, host, port)[0]
    except (OSError, ValueError):
        trusted = []
    if trusted:
        return (
            f"{label}: HOST KEY MISMATCH: the server's key differs from the one in "
            f"{known}. Someone may be intercepting the connection, or the server's key "
            f"changed; check with its administrator before updating {known}"
        )
    return (
        f"{label}: host key not trusted: {host} (port {port}) has no entry in {known}. "
        f"After checking the server's fingerprint, add it with "
        f"`ssh-keyscan -p {port} {host} >> {known}`"
    )
