"""Fixtures for the pipeline step tests: a workspace with connections, and real loopback
servers (see servers.py) started per test, or once per worker where they are slow."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from duftui.store.outputs import outputs_of
from duftui.store.tables import OutputFile
from tests.engine.conftest import Workspace
from tests.steps.dbservers import (
    MariadbServer,
    PostgresServer,
    make_base,
    mariadb_missing,
    postgres_missing,
)
from tests.steps.servers import (
    SMB_MISSING,
    FtpServer,
    HttpServer,
    SmbServer,
    SmtpServer,
    SshServer,
)


class StepWorkspace(Workspace):
    """A workspace whose connections are written from dicts; passwords become
    `{ env = … }` references set in this process (the supervisor resolves them)."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(root)
        self.monkeypatch = monkeypatch
        self.tables: dict[str, dict[str, Any]] = {}

    def connection(self, name: str, values: dict[str, Any]) -> str:
        table = dict(values)
        for field in ("password", "passphrase"):
            if table.get(field):
                variable = f"DUFTUI_TEST_{name.upper().replace('-', '_')}_{field.upper()}"
                self.monkeypatch.setenv(variable, str(table[field]))
                table[field] = {"env": variable}
        self.tables[name] = table
        (self.root / "connections.toml").write_text(tomli_w.dumps(self.tables))
        return name

    def empty_database(self, name: str) -> str:
        """A sqlite connection to a new, empty database (queries need no tables)."""
        path = self.root / f"{name}.sqlite"
        if not path.exists():
            sqlite3.connect(path).close()
        return self.connection(name, {"type": "sqlite", "path": path.name})

    def outputs(self, run_id: int) -> list[OutputFile]:
        with self.store.read() as conn:
            return outputs_of(conn, run_id)

    def run_dir(self, run_id: int) -> Path:
        """The run's output folder, as recorded on its row when it started."""
        folder = self.get(run_id).output_dir
        assert folder, f"run {run_id} has no output folder"
        return Path(folder)

    def text(self, run_id: int) -> str:
        return "\n".join(self.lines(run_id))


@pytest.fixture
def sws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StepWorkspace]:
    workspace = StepWorkspace(tmp_path / "ws", monkeypatch)
    yield workspace
    workspace.close()


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


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.close()


@pytest.fixture
def httpd(tmp_path: Path) -> Iterator[HttpServer]:
    server = HttpServer(tmp_path / "www")
    yield server
    server.close()


@pytest.fixture(scope="session")
def smbd_server() -> Iterator[SmbServer]:
    if SMB_MISSING:
        pytest.skip(SMB_MISSING)
    base = Path(tempfile.mkdtemp(prefix="duftui-smb-"))
    server = SmbServer(base)
    yield server
    server.close()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def smbd(smbd_server: SmbServer, tmp_path: Path) -> SmbServer:
    """The worker's samba server with an empty share for this test."""
    for item in smbd_server.root.iterdir():
        if item.is_dir():
            shutil.rmtree(item)
        else:
            item.unlink()
    return smbd_server


@pytest.fixture(scope="session")
def gpg_home() -> Iterator[Path]:
    """A throwaway keyring with one key for ops@example.org (short path: gpg-agent's
    socket path has a length limit)."""
    import gnupg

    home = Path(tempfile.mkdtemp(prefix="gpg", dir="/tmp"))
    gpg = gnupg.GPG(gnupghome=str(home))
    spec = gpg.gen_key_input(
        name_email="ops@example.org",
        name_real="Ops",
        key_type="EDDSA",
        key_curve="ed25519",
        subkey_type="ECDH",
        subkey_curve="cv25519",
        no_protection=True,
        expire_date=0,
    )
    assert gpg.gen_key(spec).fingerprint
    yield home
    subprocess.run(
        ["gpgconf", "--homedir", str(home), "--kill", "all"], check=False, capture_output=True
    )
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL per xdist worker."""
    missing = postgres_missing()
    if missing:
        pytest.skip(missing)
    base = make_base("duftui-pg-")
    server = PostgresServer(base)
    yield server
    server.close()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg(pg_server: PostgresServer) -> PostgresServer:
    """The worker's PostgreSQL, running, with an empty `public` schema."""
    if pg_server.proc is None:
        pg_server.start()
    pg_server.reset()
    return pg_server


@pytest.fixture(scope="session")
def maria_server() -> Iterator[MariadbServer]:
    """One throwaway MariaDB per xdist worker."""
    missing = mariadb_missing()
    if missing:
        pytest.skip(missing)
    base = make_base("duftui-my-")
    server = MariadbServer(base)
    yield server
    server.close()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def maria(maria_server: MariadbServer) -> MariadbServer:
    """The worker's MariaDB, running, with an empty test database."""
    if maria_server.proc is None:
        maria_server.start()
    maria_server.reset()
    return maria_server
