"""The "test connection" action against real servers on 127.0.0.1 (asyncssh, pyftpdlib,
aiosmtpd, samba when present): success, wrong password, server down, host key mismatch and
a silent server each give a clear answer, within the timeout."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from duftui.definitions import load_workspace
from duftui.definitions.connection_check import test_connection as check
from duftui.definitions.editing import save_connection
from tests.conftest import write
from tests.steps.servers import (
    HOST,
    PASSWORD,
    SMB_MISSING,
    USER,
    FtpServer,
    SmbServer,
    SshServer,
    free_port,
    make_certificate,
)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    db = root / "data" / "clinic.db"
    db.parent.mkdir()
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE visits (id INTEGER)")
    conn.close()
    return root


def add(ws: Path, name: str, values: dict[str, Any]) -> None:
    """Save a connection the way the form does: the password goes to the secrets file."""
    values = dict(values)
    secret = {k: str(values.pop(k)) for k in ("password", "passphrase") if values.get(k)}
    save_connection(ws, name, values, secret, opened_digest=None)


def probe(ws: Path, name: str, **options: Any) -> tuple[bool, str]:
    started = time.monotonic()
    outcome = check(load_workspace(ws), name, **options)
    assert time.monotonic() - started < options.get("timeout", 10) + 2
    return outcome


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    server = SshServer(tmp_path / "sftp-root", tmp_path / "ssh-state")
    yield server
    server.close()


@pytest.fixture
def ftpd(tmp_path: Path) -> Iterator[FtpServer]:
    server = FtpServer(tmp_path / "ftp-root")
    yield server
    server.close()


class SmtpAuthServer:
    """aiosmtpd accepting tester/secret (AUTH offered without TLS, for the test only)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        def authenticator(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                USER.encode(),
                PASSWORD.encode(),
            )
            return AuthResult(success=ok, handled=False)

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(
            Handler(),
            hostname=HOST,
            port=self.port,
            authenticator=authenticator,
            auth_require_tls=False,
        )
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtpd() -> Iterator[SmtpAuthServer]:
    server = SmtpAuthServer()
    yield server
    server.close()


@pytest.fixture
def silent() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung server)."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in accepted:
        conn.close()
    listener.close()


# -- databases ---------------------------------------------------------------------------


def test_sqlite_opens_read_only(ws: Path) -> None:
    add(ws, "db", {"type": "sqlite", "path": "data/clinic.db"})
    add(ws, "gone", {"type": "sqlite", "path": "data/missing.db"})
    write(ws / "data" / "junk.db", "this is not a database, just text" * 100)
    add(ws, "junk", {"type": "sqlite", "path": "data/junk.db"})
    ok, message = probe(ws, "db")
    assert ok and message.startswith("sqlite db: opened clinic.db read-only, 1 tables (")
    assert probe(ws, "gone") == (
        False,
        f"sqlite gone: SQLite database {ws}/data/missing.db does not exist",
    )
    assert not (ws / "data" / "missing.db").exists()
    assert probe(ws, "junk") == (
        False,
        f"sqlite junk: cannot read {ws}/data/junk.db: file is not a database",
    )


def test_sql_connects_with_sqlalchemy(ws: Path) -> None:
    add(ws, "warehouse", {"type": "sql", "url": "sqlite:///data/clinic.db"})
    assert probe(ws, "warehouse")[0]
    add(ws, "pg", {"type": "sql", "url": "postgresql://ops@127.0.0.1:1/dwh"})
    ok, message = probe(ws, "pg", timeout=2)
    assert not ok and message.startswith("sql pg: ")
    assert "driver missing" in message or "cannot connect" in message


def test_duft_sqlite3_connection_opens_its_file(ws: Path) -> None:
    params = {
        "type": {"type": "text", "value": "sqlite3"},
        "sqlite3file": {"type": "text", "value": "data/clinic.db"},
    }
    add(ws, "DUFT", {"type": "duft", "params": params})
    assert probe(ws, "DUFT")[0]
    add(ws, "MSSQL", {"type": "duft", "params": {"type": {"value": "MSSQL"}}})
    assert probe(ws, "MSSQL") == (
        False,
        "duft MSSQL: testing a DUFT connection type 'mssql' is not supported here; "
        "only sqlite3 ones (type and sqlite3file parameters) can be opened",
    )


# -- SSH and SFTP ------------------------------------------------------------------------


def test_sftp_login_and_the_clear_failures(ws: Path, sshd: SshServer) -> None:
    add(ws, "lab", sshd.connection())
    ok, message = probe(ws, "lab", timeout=5)
    assert ok, message
    assert message.startswith(f"sftp lab ({HOST}:{sshd.port}): logged in as tester; SFTP ready")
    add(ws, "wrong", sshd.connection(password="not-it"))
    assert probe(ws, "wrong", timeout=5) == (
        False,
        f"sftp wrong ({HOST}:{sshd.port}): login refused for tester (wrong user name, "
        "password or key?)",
    )
    sshd.trust(asyncssh.generate_private_key("ssh-ed25519"))
    ok, message = probe(ws, "lab", timeout=5)
    assert not ok and "HOST KEY MISMATCH" in message and str(sshd.known_hosts) in message


def test_ssh_unknown_host_and_server_down(ws: Path, sshd: SshServer) -> None:
    add(ws, "shell", sshd.connection(type="ssh"))
    assert probe(ws, "shell", timeout=5)[0]
    sshd.known_hosts.write_text("")
    ok, message = probe(ws, "shell", timeout=5)
    assert not ok and "host key not trusted" in message
    port = free_port()
    add(ws, "down", sshd.connection(port=port))
    assert probe(ws, "down", timeout=5) == (
        False,
        f"sftp down ({HOST}:{port}): connection refused (is the server running?)",
    )


def test_unsaved_form_values_with_a_typed_password(ws: Path, sshd: SshServer) -> None:
    data = sshd.connection()
    typed = data.pop("password")
    ok, message = check(
        load_workspace(ws), "draft", data=data, secret_values={"password": typed}, timeout=5
    )
    assert ok, message
    assert not (ws / "connections.toml").exists()
    ok, message = check(
        load_workspace(ws), "draft", data=data, secret_values={"password": "nope"}, timeout=5
    )
    assert not ok and "login refused" in message


def test_a_silent_server_does_not_hang_the_console(ws: Path, silent: int) -> None:
    add(ws, "hung-ssh", {"type": "sftp", "host": HOST, "port": silent, "known_hosts": "kh"})
    write(ws / "kh", "")
    add(ws, "hung-ftp", {"type": "ftp", "host": HOST, "port": silent})
    for name in ("hung-ssh", "hung-ftp"):
        started = time.monotonic()
        ok, message = check(load_workspace(ws), name, timeout=1)
        assert not ok and ("no answer" in message or "timed out" in message), message
        assert time.monotonic() - started < 3


# -- FTP and SMTP ------------------------------------------------------------------------


def test_ftp_login_wrong_password_and_down(ws: Path, ftpd: FtpServer) -> None:
    add(ws, "partner", ftpd.connection())
    ok, message = probe(ws, "partner", timeout=5)
    assert ok and message.startswith(f"ftp partner ({HOST}:{ftpd.port}): logged in as tester")
    add(ws, "wrong", ftpd.connection(password="not-it"))
    ok, message = probe(ws, "wrong", timeout=5)
    assert not ok and message.startswith(
        f"ftp wrong ({HOST}:{ftpd.port}): login failed: login refused (530"
    )
    port = free_port()
    add(ws, "down", ftpd.connection(port=port))
    assert probe(ws, "down", timeout=5) == (
        False,
        f"ftp down ({HOST}:{port}): cannot connect: connection refused (is the server running?)",
    )


def test_ftps_checks_the_certificate(ws: Path, tmp_path: Path) -> None:
    cert = make_certificate(tmp_path)
    server = FtpServer(tmp_path / "ftps-root", certfile=cert)
    try:
        add(ws, "tls", server.connection(tls=True, ca_file=str(cert)))
        ok, message = probe(ws, "tls", timeout=5)
        assert ok and "over TLS" in message, message
        add(ws, "untrusted", server.connection(tls=True))
        ok, message = probe(ws, "untrusted", timeout=5)
        assert not ok and "TLS certificate not trusted" in message
    finally:
        server.close()


def test_smtp_login_wrong_password_and_down(ws: Path, smtpd: SmtpAuthServer) -> None:
    base = {"type": "smtp", "host": HOST, "port": smtpd.port, "sender": "duftui@localhost"}
    add(ws, "relay", base)
    ok, message = probe(ws, "relay", timeout=5)
    assert ok and message.startswith(f"smtp relay ({HOST}:{smtpd.port}): connected (")
    add(ws, "auth", {**base, "username": USER, "password": PASSWORD})
    ok, message = probe(ws, "auth", timeout=5)
    assert ok and "logged in as tester" in message
    add(ws, "wrong", {**base, "username": USER, "password": "not-it"})
    ok, message = probe(ws, "wrong", timeout=5)
    assert not ok and message.startswith(f"smtp wrong ({HOST}:{smtpd.port}): login refused (535")
    port = free_port()
    add(ws, "down", {**base, "port": port})
    assert probe(ws, "down", timeout=5) == (
        False,
        f"smtp down ({HOST}:{port}): connection refused (is the mail server running?)",
    )


# -- SMB, and things that cannot be tested -----------------------------------------------


def test_smb_server_down(ws: Path) -> None:
    port = free_port()
    add(
        ws,
        "share",
        {
            "type": "smb",
            "host": HOST,
            "port": port,
            "share": "scans",
            "username": "u",
            "password": "p-long",
        },
    )
    ok, message = probe(ws, "share", timeout=3)
    assert not ok and message.startswith(f"smb share (//{HOST}:{port}/scans): cannot connect")


@pytest.mark.skipif(SMB_MISSING is not None, reason=SMB_MISSING or "")
def test_smb_login(ws: Path, tmp_path: Path) -> None:
    server = SmbServer(tmp_path / "smb")
    try:
        add(ws, "share", server.connection())
        ok, message = probe(ws, "share", timeout=10)
        assert ok, message
    finally:
        server.close()


def test_missing_secret_and_unknown_connection(ws: Path) -> None:
    write(
        ws / "connections.toml",
        '[lab]\ntype = "sftp"\nhost = "127.0.0.1"\npassword = { secret = "lab.password" }\n',
    )
    ok, message = probe(ws, "lab")
    assert not ok and message.startswith(
        "connection lab.password: secret 'lab.password' is not set in "
    )
    assert probe(ws, "nope") == (False, "no connection 'nope'")
