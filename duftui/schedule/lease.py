"""The `daemon` lease: at most one daemon per state file, and a way for everyone else to
know whether one is alive (DESIGN §5.1, §6).

The holder heartbeats every HEARTBEAT_S. A lease whose heartbeat is older than STALE_S,
or whose holder process is gone on this host, can be taken over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, text

from duftui.engine.identity import identity_alive, process_identity, this_host
from duftui.store.db import immediate
from duftui.store.timestamps import from_iso, to_iso, utcnow

DAEMON = "daemon"
HEARTBEAT_S = 2.0
STALE_S = 10.0


@dataclass(frozen=True)
class LeaseInfo:
    name: str
    holder: str
    pid: int
    host: str
    started_at: datetime
    heartbeat_at: datetime

    def age(self, now: datetime | None = None) -> float:
        return ((now or utcnow()) - self.heartbeat_at).total_seconds()

    def alive(self, now: datetime | None = None) -> bool:
        """Fresh heartbeat and, on this host, a live holder process."""
        if self.age(now) > STALE_S:
            return False
        return identity_alive(self.holder) is not False

    def describe(self, now: datetime | None = None) -> str:
        return (
            f"pid {self.pid} on {self.host}, last heartbeat {self.age(now):.1f}s ago "
            f"(since {self.started_at.astimezone():%Y-%m-%d %H:%M:%S})"
        )


def current(conn: Connection, name: str = DAEMON) -> LeaseInfo | None:
    row = conn.execute(
        text("SELECT name, holder, pid, host, started_at, heartbeat_at FROM lease WHERE name = :n"),
        {"n": name},
    ).first()
    if row is None:
        return None
    return LeaseInfo(row[0], row[1], row[2], row[3], from_iso(row[4]), from_iso(row[5]))  # type: ignore[arg-type]


def acquire(
    conn: Connection, name: str = DAEMON, holder: str | None = None, pid: int | None = None
) -> LeaseInfo | None:
    """Take the lease (in a write transaction). Returns the blocking holder, or None if taken."""
    import os

    holder = holder or process_identity()
    existing = current(conn, name)
    if existing is not None and existing.holder != holder and existing.alive():
        return existing
    now = to_iso(utcnow())
    conn.execute(
        text(
            "INSERT INTO lease (name, holder, pid, host, started_at, heartbeat_at) "
            "VALUES (:n, :h, :p, :host, :now, :now) ON CONFLICT (name) DO UPDATE SET "
            "holder = excluded.holder, pid = excluded.pid, host = excluded.host, "
            "started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at"
        ),
        {"n": name, "h": holder, "p": pid or os.getpid(), "host": this_host(), "now": now},
    )
    return None


def heartbeat(conn: Connection, holder: str, name: str = DAEMON) -> bool:
    """Refresh the heartbeat; False means the lease was taken over by someone else."""
    result = conn.execute(
        text("UPDATE lease SET heartbeat_at = :now WHERE name = :n AND holder = :h"),
        {"now": to_iso(utcnow()), "n": name, "h": holder},
    )
    return result.rowcount == 1


def release(conn: Connection, holder: str, name: str = DAEMON) -> None:
    conn.execute(
        text("DELETE FROM lease WHERE name = :n AND holder = :h"), {"n": name, "h": holder}
    )


def daemon_alive(conn: Connection) -> LeaseInfo | None:
    """The live daemon's lease, or None when no daemon is running."""
    info = current(conn)
    return info if info is not None and info.alive() else None


def stale_after() -> timedelta:
    return timedelta(seconds=STALE_S)


_HOLDER = text("SELECT holder FROM lease WHERE name = :n")


def holds(conn: Connection, holder: str, name: str = DAEMON) -> bool:
    """Whether `holder` is the lease's holder right now (checked inside write transactions)."""
    row = conn.execute(_HOLDER, {"n": name}).first()
    return row is not None and row[0] == holder


class HeartbeatWriter:
    """Heartbeats on a plain connection of their own: a few microseconds of CPU every 2 s
    instead of an ORM round trip (an idle daemon does little else)."""

    def __init__(self, path: Path) -> None:
        import threading

        from duftui.store.db import connect_raw

        self._conn = connect_raw(path)
        self._lock = threading.Lock()

    def beat(self, holder: str, name: str = DAEMON) -> bool:
        """Refresh the heartbeat; False means the lease was taken over by someone else."""
        with self._lock:
            return self._beat(holder, name)

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database now, while nothing is due, so SQLite's
        automatic checkpoint (an fsync) does not land on the commit of a fire."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _beat(self, holder: str, name: str) -> bool:
        with immediate(self._conn) as conn:
            updated = conn.execute(
                "UPDATE lease SET heartbeat_at = ? WHERE name = ? AND holder = ?",
                (to_iso(utcnow()), name, holder),
            ).rowcount
        return updated == 1

    def close(self) -> None:
        self._conn.close()
