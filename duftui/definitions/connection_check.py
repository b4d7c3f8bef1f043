"""The connection form's "test connection": open the database or log in, then report.

Every check runs with short timeouts in a daemon thread that is given up after its
deadline, so the console never hangs on a host that does not answer. Messages reuse the
step runner's connectors where they exist (SSH, FTP, SMB), so "host key mismatch" or
"login refused" reads the same here as in a run's log; secret values are masked in
whatever a server or driver answers.
"""

from __future__ import annotations

import asyncio
import smtplib
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from duftui.definitions.common import SecretRef
from duftui.definitions.connections import CONNECTION_TYPES, SECRET_FIELDS, DuftConnection
from duftui.definitions.loader import Catalogue
from duftui.definitions.secrets import Masker, SecretStore

Outcome = tuple[bool, str]
DEFAULT_TIMEOUT = 10.0


class _Failed(Exception):
    """A check failed; the message is the whole answer."""


def test_connection(
    catalogue: Catalogue,
    name: str,
    secrets: SecretStore | None = None,
    *,
    data: dict[str, Any] | None = None,
    secret_values: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Outcome:
    """(ok, message) for a saved connection, or for the form's unsaved `data` with the
    secrets typed into its password inputs (`secret_values`, by field or DUFT param)."""
    started = time.monotonic()
    try:
        connection = _connection(catalogue, name, data)
        values = _values(catalogue, name, connection, secrets, secret_values or {})
    except _Failed as exc:
        return False, str(exc)
    masker = Masker(str(v) for k, v in values.items() if _is_secret(connection, k) and v)
    kind = "duft" if isinstance(connection, DuftConnection) else str(connection.type)
    check = _CHECKS[kind]
    ok, message = _bounded(lambda: check(name, values, catalogue.root, timeout), timeout)
    took = (time.monotonic() - started) * 1000
    return ok, masker.mask(f"{message} ({took:.0f} ms)" if ok else message)


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _connection(catalogue: Catalogue, name: str, data: dict[str, Any] | None) -> BaseModel:
    if data is None:
        if name in catalogue.connections:
            return catalogue.connections[name]
        if name in catalogue.broken_connections:
            first = catalogue.broken_connections[name][0]
            raise _Failed(f"connection {name} has errors: {first}")
        raise _Failed(f"no connection {name!r}")
    model = CONNECTION_TYPES.get(str(data.get("type")))
    if model is None:
        raise _Failed(f"connection {name}: choose a type first ({', '.join(CONNECTION_TYPES)})")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise _Failed(f"connection {name}: fix {where} first ({first['msg']})") from None


def _values(
    catalogue: Catalogue,
    name: str,
    connection: BaseModel,
    secrets: SecretStore | None,
    typed: dict[str, str],
) -> dict[str, Any]:
    """The connection as a task would get it (`engine.launch.connection_values`), with
    what was typed into the form's password inputs used instead of stored secrets."""
    from duftui.engine.launch import LaunchError, Resolver, connection_values
    from duftui.locations import secrets_file

    typed = {field: value for field, value in typed.items() if value}
    if isinstance(connection, DuftConnection):
        params = {
            param: spec.model_copy(update={"value": typed[param]}) if param in typed else spec
            for param, spec in connection.params.items()
        }
        connection = connection.model_copy(update={"params": params})
    else:
        connection = connection.model_copy(
            update={f: v for f, v in typed.items() if f in type(connection).model_fields}
        )
    resolver = Resolver(secrets or SecretStore(secrets_file()))
    try:
        values = connection_values(name, connection, catalogue.root, resolver)  # type: ignore[arg-type]
    except LaunchError as exc:
        raise _Failed(str(exc)) from None
    return values


def _is_secret(connection: BaseModel, key: str) -> bool:
    if isinstance(connection, DuftConnection):
        param = connection.params.get(key)
        return param is not None and (
            param.type == "password" or isinstance(param.value, SecretRef)
        )
    return key in SECRET_FIELDS


def _bounded(check: Callable[[], Outcome], timeout: float) -> Outcome:
    """Run a check in a daemon thread and stop waiting at its deadline (plus a little for
    the libraries' own timeouts to report first)."""
    result: list[Outcome] = []

    def run() -> None:
        try:
            result.append(check())
        except _Failed as exc:
            result.append((False, str(exc)))
        except Exception as exc:  # anything a driver raises is the answer, not a crash
            result.append((False, f"{type(exc).__name__}: {exc}"))

    thread = threading.Thread(target=run, name="duftui-connection-test", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if not result:
        return False, f"no answer within {timeout:g}s (is the host reachable?)"
    return result[0]


# -- one check per type ----------------------------------------------------------------


def _sqlite_file(path: Path, label: str, timeout: float) -> Outcome:
    if not path.is_file():
        raise _Failed(f"{label}: SQLite database {path} does not exist")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
    try:
        conn.execute("SELECT 1").fetchone()
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
        count = tables.fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise _Failed(f"{label}: cannot read {path}: {exc}") from None
    finally:
        conn.close()
    return True, f"{label}: opened {path.name} read-only, {count} tables"


def _check_sqlite(name: str, values: dict[str, Any], root: Path, timeout: float) -> Outcome:
    return _sqlite_file(Path(values["path"]), f"sqlite {name}", timeout)


# Driver-level connect timeouts (seconds), by SQLAlchemy backend name.
_CONNECT_TIMEOUT = {
    "postgresql": "connect_timeout",
    "mysql": "connect_timeout",
    "mariadb": "connect_timeout",
    "mssql": "timeout",
    "sqlite": "timeout",
}


def _check_sql(name: str, values: dict[str, Any], root: Path, timeout: float) -> Outcome:
    from sqlalchemy import create_engine, exc, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    label = f"sql {name}"
    try:
        url = make_url(str(values["url"]))
    except exc.ArgumentError as error:
        raise _Failed(f"{label}: {error}") from None
    if values.get("password"):
        url = url.set(password=str(values["password"]))
    backend = url.get_backend_name()
    if backend == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database)
        if not database.is_absolute():
            database = root / database
        return _sqlite_file(database, label, timeout)
    connect_args: dict[str, Any] = dict(values.get("options") or {})
    if backend in _CONNECT_TIMEOUT:
        connect_args.setdefault(_CONNECT_TIMEOUT[backend], max(1, int(timeout)))
    try:
        engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except (ImportError, exc.NoSuchModuleError) as error:
        from duftui.steps.sql import DRIVER_EXTRAS

        extra = DRIVER_EXTRAS.get(backend)
        hint = f"; install it with pip install 'duftui[{extra}]'" if extra else ""
        raise _Failed(f"{label}: database driver missing ({error}){hint}") from None
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except exc.DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise _Failed(f"{label}: cannot connect: {reason}") from None
    except exc.SQLAlchemyError as error:
        raise _Failed(f"{label}: {error}") from None
    finally:
        engine.dispose()
    return True, f"{label}: connected to {backend} at {url.host or url.database}, SELECT 1 ok"


def _check_ssh(name: str, values: dict[str, Any], root: Path, timeout: float) -> Outcome:
    from duftui.steps.errors import TransferError
    from duftui.steps.remote.sshconnect import describe, ssh_connect

    values = {**values, "timeout": min(float(values.get("timeout") or timeout), timeout)}

    async def login() -> str:
        conn = await ssh_connect(name, values, root)
        async with conn:
            if values.get("type") == "sftp":
                async with conn.start_sftp_client() as sftp:
                    home = await sftp.realpath(".")
                return f"; SFTP ready in {home}"
            return ""

    try:
        extra = asyncio.run(asyncio.wait_for(login(), timeout))
    except TransferError as error:
        raise _Failed(str(error)) from None
    except TimeoutError:
        raise _Failed(f"{describe(name, values)}: no answer within {timeout:g}s") from None
    who = values.get("username") or "the current user"
    return True, f"{describe(name, values)}: logged in as {who}{extra}"


def _check_ftp(name: str, values: dict[str, Any], root: Path, timeout: float) -> Outcome:
    from duftui.steps.errors import TransferError
    from duftui.steps.remote.ftp import FtpRemote

    values = {**values, "timeout": min(float(values.get("timeout") or timeout), timeout)}
    remote = FtpRemote(name, values, root)
    try:
        with remote:
            where = remote.client.pwd()
    except TransferError as error:
        raise _Failed(str(error)) from None
    who = values.get("username") or "anonymous"
    tls = " over TLS" if values.get("tls") else ""
    return True, f"{remote.label}: logged in as {who}{tls}, in {where}"


def _check_smb(name: str, values: dict[str, Any], root: Path, timeout: float) -> Outcome:
    try:
        import smbclient  # noqa: F401
    except ImportError:
        raise _Failed(
            f"smb {name}: testing SMB connections is not supported here: "
            "smbprotocol is not installed (pip install 'duftui[smb]')"
        ) from None
    from duftui.steps.errors import StepError
    from duftui.steps.remote.smb import SmbRemote

    values = {**values, "timeout": min(float(values.get("timeout") or timeout), timeout)}
    try:
        remote = SmbRemote(name, values)
        with remote:
            pass
    except StepError as error:
        raise _Failed(str(error)) from None
    return True, f"{remote.label}: logged in as {values.get('username') or 'guest'}"


def _check_smtp(name: str, values: dict[str, Any], root: Path, timeout: float) -> Outcome:
    host, port = str(values["host"]), int(values.get("port") or 25)
    label = f"smtp {name} ({host}:{port})"
    context = ssl.create_default_context()
    steps = []
    try:
        if values.get("ssl"):
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            steps.append("SSL")
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            client.ehlo_or_helo_if_needed()
            if values.get("starttls") and not values.get("ssl"):
                client.starttls(context=context)
                client.ehlo()
                steps.append("STARTTLS")
            if values.get("username") and values.get("password"):
                client.login(str(values["username"]), str(values["password"]))
                steps.append(f"logged in as {values['username']}")
            client.noop()
    except ConnectionRefusedError:
        raise _Failed(f"{label}: connection refused (is the mail server running?)") from None
    except smtplib.SMTPAuthenticationError as error:
        answer = error.smtp_error.decode(errors="replace")
        raise _Failed(
            f"{label}: login refused ({error.smtp_code} {answer}; wrong user name or password?)"
        ) from None
    except smtplib.SMTPNotSupportedError as error:
        raise _Failed(f"{label}: the server does not offer this: {error}") from None
    except smtplib.SMTPResponseException as error:
        answer = error.smtp_error.decode(errors="replace")
        raise _Failed(f"{label}: the server answered {error.smtp_code} {answer}") from None
    except ssl.SSLCertVerificationError as error:
        raise _Failed(f"{label}: TLS certificate not trusted ({error.verify_message})") from None
    except TimeoutError:
        raise _Failed(f"{label}: no answer within {timeout:g}s") from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as error:
        raise _Failed(f"{label}: {error or type(error).__name__}") from None
    done = ", ".join(steps)
    return True, f"{label}: connected" + (f", {done}" if done else "")


def _check_duft(name: str, values: dict[str, Any], root: Path, timeout: float) -> Outcome:
    """DUFT connections are parameter bags; a sqlite3 one names its file, which is opened."""
    lowered = {key.lower(): value for key, value in values.items()}
    kind = str(lowered.get("type", "")).lower()
    file = lowered.get("sqlite3file")
    if kind in ("sqlite3", "sqlite") and file:
        path = Path(str(file)).expanduser()
        return _sqlite_file(path if path.is_absolute() else root / path, f"duft {name}", timeout)
    shown = f"type {kind!r}" if kind else "without a type parameter"
    raise _Failed(
        f"duft {name}: testing a DUFT connection {shown} is not supported here; "
        "only sqlite3 ones (type and sqlite3file parameters) can be opened"
    )


_CHECKS: dict[str, Callable[[str, dict[str, Any], Path, float], Outcome]] = {
    "sqlite": _check_sqlite,
    "sql": _check_sql,
    "sftp": _check_ssh,
    "ssh": _check_ssh,
    "ftp": _check_ftp,
    "smb": _check_smb,
    "smtp": _check_smtp,
    "duft": _check_duft,
}
