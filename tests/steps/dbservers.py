"""Throwaway PostgreSQL and MariaDB servers for the database tests, from Debian's packages.

Each is a fresh instance in a temporary folder: its own data directory, a free loopback
port and a unix socket in that folder; no system service is touched. PostgreSQL refuses
to run as root, so under root (CI) it runs as the `postgres` account the package creates
(or `nobody`); mariadbd is told `--user` of whoever runs it. Both get a user `duftui`
with a password, so a wrong password is refused for real.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.steps.servers import HOST, free_port, wait_listening

USER, PASSWORD, DATABASE = "duftui", "db-secret-pw", "duftui_test"


def _pg_bin() -> Path | None:
    """Debian keeps the server binaries off PATH, one folder per major version."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts)
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def postgres_missing() -> str | None:
    if _pg_bin() is None:
        return "PostgreSQL is not installed (apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'duftui[postgres]')"
    return None


def mariadb_missing() -> str | None:
    if not (shutil.which("mariadbd") or Path("/usr/sbin/mariadbd").exists()):
        return "MariaDB is not installed (apt-get install mariadb-server)"
    if not shutil.which("mariadb-install-db"):
        return "mariadb-install-db is missing (apt-get install mariadb-server)"
    try:
        import pymysql  # noqa: F401
    except ImportError:
        return "pymysql is not installed (pip install 'duftui[mysql]')"
    return None


def _wait(check: Any, what: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode} while starting")
        try:
            if check():
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not become ready within {timeout:g}s")
        time.sleep(0.1)


class PostgresServer:
    """`postgres` in the foreground; database `duftui_test`, user `duftui` (scram password)."""

    kind = "postgresql"

    def __init__(self, base: Path) -> None:
        self.base = base
        self.bin = _pg_bin()
        assert self.bin is not None
        self.data = base / "data"
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres" if _has_user("postgres") else "nobody"
            os.chown(base, pwd.getpwnam(self.user).pw_uid, pwd.getpwnam(self.user).pw_gid)
        pwfile = base / "pw"
        pwfile.write_text(PASSWORD + "\n")
        self._own(pwfile)
        self._run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, "--auth=scram-sha-256",
             f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")

    def _own(self, path: Path) -> None:
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, argv: list[str]) -> None:
        subprocess.run(argv, check=True, capture_output=True, user=self.user, cwd=self.base)

    def start(self) -> None:
        log = open(self.base / "postgres.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-k", str(self.base), "-c", f"listen_addresses={HOST}", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            stdout=log, stderr=log, user=self.user, cwd=self.base, start_new_session=True,
        )
        log.close()
        wait_listening(self.port, 60)
        _wait(self._ready, "postgres", self.proc)

    def _ready(self) -> bool:
        import psycopg

        with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
            return True

    def stop(self, fast: bool = True) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT if fast else signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def dsn(self, database: str = DATABASE) -> str:
        return f"host={HOST} port={self.port} dbname={database} user={USER} password={PASSWORD}"

    def url(self, database: str = DATABASE, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{USER}@{HOST}:{self.port}/{database}"

    def connection(self, database: str = DATABASE, password: str = PASSWORD) -> dict[str, Any]:
        return {"type": "sql", "url": self.url(database), "password": password}

    def execute(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def reset(self) -> None:
        """Drop every table the tests made in `public`."""
        self.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")

    def close(self) -> None:
        self.stop()


class MariadbServer:
    """`mariadbd` on a free port; database `duftui_test`, user `duftui`@`127.0.0.1`."""

    kind = "mysql"

    def __init__(self, base: Path) -> None:
        self.base = base
        self.data = base / "data"
        self.socket = base / "mysqld.sock"
        self.port = free_port()
        self.daemon = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        me = pwd.getpwuid(os.geteuid()).pw_name
        self.options = ["--no-defaults", f"--datadir={self.data}", f"--user={me}"]
        subprocess.run(
            ["mariadb-install-db", *self.options, "--auth-root-authentication-method=normal",
             "--skip-test-db", "--skip-name-resolve"],
            check=True, capture_output=True, cwd=base,
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()
        import pymysql

        root = pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True)
        with root, root.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4")
            cursor.execute(f"CREATE USER '{USER}'@'{HOST}' IDENTIFIED BY '{PASSWORD}'")
            cursor.execute(f"GRANT ALL ON *.* TO '{USER}'@'{HOST}'")

    def start(self) -> None:
        log = open(self.base / "mariadb.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [self.daemon, *self.options, f"--port={self.port}", f"--bind-address={HOST}",
             f"--socket={self.socket}", f"--pid-file={self.base / 'mariadb.pid'}",
             "--skip-name-resolve", "--skip-log-bin", "--innodb-buffer-pool-size=64M",
             "--innodb-log-file-size=16M", "--innodb-flush-log-at-trx-commit=0",
             "--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin",
             f"--log-error={self.base / 'mariadb.err'}"],
            stdout=log, stderr=log, cwd=self.base, start_new_session=True,
        )
        log.close()
        wait_listening(self.port, 60)
        _wait(lambda: self.socket.exists(), "mariadbd", self.proc)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def url(self, database: str = DATABASE) -> str:
        return f"mysql+pymysql://{USER}@{HOST}:{self.port}/{database}?charset=utf8mb4"

    def connection(self, database: str = DATABASE, password: str = PASSWORD) -> dict[str, Any]:
        return {"type": "sql", "url": self.url(database), "password": password}

    def execute(
        self, sql: str, params: Any = None, database: str | None = DATABASE
    ) -> list[tuple[Any, ...]]:
        import pymysql

        conn = pymysql.connect(
            host=HOST, port=self.port, user=USER, password=PASSWORD, database=database,
            autocommit=True, charset="utf8mb4",
        )
        with conn, conn.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    def reset(self) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {DATABASE}", database=None)
        self.execute(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4", database=None)

    def close(self) -> None:
        self.stop()


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def make_base(prefix: str) -> Path:
    """A short folder under /tmp (unix socket paths are limited to ~100 bytes), readable
    by the account postgres runs as."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    base.chmod(0o755)
    return base
