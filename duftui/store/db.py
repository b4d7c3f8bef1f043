"""Opening the state file: WAL, synchronous=NORMAL, busy_timeout, foreign keys, and
`BEGIN IMMEDIATE` for every write transaction (DESIGN §4).

The console, the daemon and CLI commands open the same file at once. Writers take the
write lock up front (IMMEDIATE), so SQLite's busy handler queues them instead of failing
a deferred transaction on upgrade; readers never block in WAL mode.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from duftui.store.migrations import SchemaTooNew, StateFileError, creation_id, migrate

__all__ = ["ChangeWatcher", "StateFileError", "Store", "connect_raw", "driver", "passing_error"]

BUSY_TIMEOUT_S = 30.0


def _configure(dbapi_conn: sqlite3.Connection, wal: bool = True) -> None:
    # Autocommit at the driver level: transactions are begun explicitly below.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    # A new, empty file is made able to give pages back (`duftui prune`); this has to come
    # before WAL is switched on. Only then: on a file in use, the pragma takes the write
    # lock, which would make opening a connection wait for another process's writer.
    if cursor.execute("PRAGMA page_count").fetchone()[0] == 0:
        cursor.execute("PRAGMA auto_vacuum = INCREMENTAL")
    if wal:
        _enable_wal(cursor)
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _result_code(exc: BaseException) -> int | None:
    """The primary SQLite result code of an error (SQLAlchemy's wrappers looked through),
    or None when there is none."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, sqlite3.Error):
            code = getattr(cause, "sqlite_errorcode", None)
            return None if code is None else code & 0xFF
        cause = getattr(cause, "orig", None) or cause.__cause__
    return None


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = _result_code(exc)
    if code is not None:
        return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc)


# SQLite result codes that a wait can cure (a remount can end read-only).
_PASSING_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY,
                  sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN}


# SQLite result codes that mean "this file cannot serve as the state file" (a garbage
# file, a folder one cannot write to, a damaged file), as opposed to a bug in a migration.
_UNUSABLE_CODES = {sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_CANTOPEN,
                   sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_IOERR,
                   sqlite3.SQLITE_FULL}


def _make_folder(path: Path) -> None:
    """Create the state file's folder, or say in one sentence why it cannot be."""
    for parent in (path.parent, *path.parent.parents):
        if parent.exists():
            if not parent.is_dir():
                raise StateFileError(f"cannot create the state file {path}: {parent} is not "
                                     "a folder; give another --db")
            break
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise StateFileError(f"cannot create the state file {path}: {reason}; check that "
                             "you may write there, or give another --db") from None


def _not_usable(path: Path, exc: BaseException) -> str:
    """One sentence for a state file that will not open: which file, why, what to do."""
    if isinstance(exc, LookupError):
        return f"{path}: {exc}"
    code = _result_code(exc)
    if code == sqlite3.SQLITE_NOTADB:
        return (f"{path} is not a duftui state file (SQLite: file is not a database); "
                "give the right file with --db, or move this one away to start a new "
                "history")
    cause = getattr(exc, "orig", None) or exc
    if code == sqlite3.SQLITE_CANTOPEN:
        return (f"cannot open the state file {path} ({cause}); check that its folder "
                "exists and that you may write there, or give another --db")
    return (f"cannot use the state file {path} ({cause}); check the file, its folder and "
            "their permissions, or give another --db")


def passing_error(exc: BaseException) -> bool:
    """True for a state-file error that can pass with time: a full disk, an I/O error, a
    lock held elsewhere."""
    return _result_code(exc) in _PASSING_CODES


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    """Switch to WAL unless the file already is.

    Changing the journal mode needs an exclusive lock, and SQLite does not call the busy
    handler for it: two processes creating the same new file at once would see "database
    is locked". So the mode is read first (a no-op on every later open) and the switch is
    retried until the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.001
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            break
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    if str(mode).lower() != "wal":
        raise sqlite3.OperationalError(
            f"could not switch the state file to WAL mode (got {mode!r}); "
            "is it on a network file system?"
        )


def connect_raw(path: Path) -> sqlite3.Connection:
    """A configured plain sqlite3 connection (for watchers and bulk paths)."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    _configure(conn)
    return conn


class Store:
    """One state file. Use `read()` for queries and `write()` for changes."""

    def __init__(self, path: Path, *, create: bool = True, _memory: bool = False) -> None:
        self.path = Path(path)
        if _memory:
            # One shared connection: each new :memory: connection would be a new database.
            self.engine: Engine = create_engine(
                "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
            )
            event.listen(self.engine, "connect", lambda conn, _rec: _configure(conn, wal=False))
        else:
            if not self.path.exists():
                if not create:
                    raise FileNotFoundError(f"no state file at {self.path}")
                _make_folder(self.path)
            self.engine = create_engine(
                f"sqlite:///{self.path}",
                connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
                pool_size=8,
                max_overflow=16,
            )
            event.listen(self.engine, "connect", lambda conn, _rec: _configure(conn))
        # Writers of this process queue on a lock before they ask SQLite: SQLite's busy
        # handler sleeps 1, 2, 5, 10 … ms between tries, which a claim colliding with the
        # log writer's flush would pay on every run. Other processes still meet the busy
        # handler (busy_timeout).
        self._write_lock = threading.RLock()
        event.listen(self.engine, "begin", _begin)
        try:
            with self.engine.connect() as conn:
                db = conn.connection.driver_connection
                self.schema_version = migrate(db)
                self.creation_id = creation_id(db)
        except SchemaTooNew:
            self.engine.dispose()
            raise
        except (sqlite3.DatabaseError, DBAPIError, LookupError) as exc:
            self.engine.dispose()
            if isinstance(exc, LookupError) or _result_code(exc) in _UNUSABLE_CODES:
                raise StateFileError(_not_usable(self.path, exc)) from exc
            raise
        except BaseException:
            self.engine.dispose()
            raise

    @classmethod
    def empty(cls) -> Store:
        """A private, empty state in memory: what a read-only command reads when the
        workspace has no state file yet, so that reading never creates one."""
        return cls(Path(":memory:"), _memory=True)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a deferred (read) transaction: one consistent snapshot."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a `BEGIN IMMEDIATE` transaction, committed on success."""
        with self._write_lock, self.engine.connect() as conn:
            conn.execution_options(duftui_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def write_raw(self) -> Iterator[sqlite3.Connection]:
        """The pooled driver connection in a `BEGIN IMMEDIATE` transaction, committed on
        success: for a few fixed statements on a hot path."""
        with self.raw() as db, self.write_on(db):
            yield db

    @contextmanager
    def write_on(self, db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """A `BEGIN IMMEDIATE` transaction on a connection the caller keeps open
        (`connect_raw`), queued behind this process's other writers: the supervisor's
        claims, which would otherwise pay a pool checkout on every run's start."""
        with self._write_lock, immediate(db):
            yield db

    def connect(self) -> sqlite3.Connection:
        """A new configured driver connection to this file, owned by the caller."""
        return connect_raw(self.path)

    @contextmanager
    def raw(self) -> Iterator[sqlite3.Connection]:
        """The pooled driver connection, in autocommit mode, for streaming reads."""
        with self.engine.connect() as conn:
            yield driver(conn)

    def close(self) -> None:
        self.engine.dispose()


def driver(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under `conn`, in its transaction: for the few fixed statements
    on the path of every run (claim, queue, finish), where SQLAlchemy's statement machinery
    costs more than the statement."""
    db = conn.connection.driver_connection
    assert isinstance(db, sqlite3.Connection)
    return db


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A `BEGIN IMMEDIATE` transaction on a driver connection in autocommit mode,
    committed on success and rolled back on any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # a failed COMMIT (disk full) can leave it open
            db.execute("ROLLBACK")
        raise


def _begin(conn: Connection) -> None:
    mode = "IMMEDIATE" if conn.get_execution_options().get("duftui_write") else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


class ChangeWatcher:
    """Answers "did anyone commit since I last asked?" with `PRAGMA data_version`.

    The pragma is per connection and costs microseconds, so consoles and the daemon can
    ask a few times a second instead of re-running queries.
    """

    def __init__(self, path: Path) -> None:
        self._conn = connect_raw(path)
        self._lock = threading.Lock()  # the daemon's heartbeat thread asks too
        self._closed = False
        self._last = self._version()

    def _version(self) -> int:
        return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def changed(self) -> bool:
        with self._lock:
            if self._closed:
                return False
            current = self._version()
            if current != self._last:
                self._last = current
                return True
            return False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._conn.close()
