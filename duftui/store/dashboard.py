"""Small, index-friendly queries the console's live screens need (no Textual here).

The console asks `read_pulse()` a few times a second, after SQLite's `data_version` says
someone committed; comparing two pulses tells each screen what changed, so it re-runs only
its own queries. Everything here stays fast on a store of a million runs: each query is
either a primary-key lookup, a range on an indexed column, or a scan of the few active rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, text

from duftui.schedule.lease import LeaseInfo, current
from duftui.store.runs import RUN
from duftui.store.tables import OutputFile, Run
from duftui.store.timestamps import to_iso, utcnow

DAEMON_RUNNING = "running"
DAEMON_NOT_RUNNING = "not running"
DAEMON_STALE = "stale"


@dataclass(frozen=True)
class ActiveRun:
    """What can change about a queued or running run while it is active."""

    id: int
    status: str
    log_lines: int
    progress: float | None
    cancel_requested: bool
    supervisor: str | None = None


@dataclass(frozen=True)
class Pulse:
    """A cheap fingerprint of the store: equal pulses mean nothing a screen shows changed.

    `active` covers queued and running runs (a status change or new log lines show up
    there); `max_run_id` catches new runs; `max_audit_id` catches operator actions
    (acknowledge, cancel retry) on finished runs; the lease row catches the daemon.
    """

    max_run_id: int = 0
    active: tuple[ActiveRun, ...] = ()
    max_audit_id: int = 0
    max_output_id: int = 0
    lease: tuple[str, str] | None = None

    @property
    def active_by_id(self) -> dict[int, ActiveRun]:
        return {run.id: run for run in self.active}

    def runs_changed(self, other: Pulse | None) -> bool:
        """True when run rows (not just log lines) may differ from `other`."""
        if other is None:
            return True
        mine = {(r.id, r.status, r.progress, r.cancel_requested) for r in self.active}
        theirs = {(r.id, r.status, r.progress, r.cancel_requested) for r in other.active}
        return (
            mine != theirs
            or self.max_run_id != other.max_run_id
            or self.max_audit_id != other.max_audit_id
        )

    def run_changed(self, other: Pulse | None, run_id: int) -> bool:
        """True when one run's row or its log may differ from `other`."""
        if other is None:
            return True
        mine, theirs = self.active_by_id.get(run_id), other.active_by_id.get(run_id)
        return (
            mine != theirs
            or self.max_audit_id != other.max_audit_id
            or self.max_output_id != other.max_output_id
        )


def read_pulse(conn: Connection) -> Pulse:
    """Read the fingerprint: four lookups on primary keys or the status index."""
    active = tuple(
        ActiveRun(int(r[0]), str(r[1]), int(r[2] or 0), r[3], bool(r[4]), r[5])
        for r in conn.execute(
            text(
                "SELECT id, status, log_lines, progress_done, cancel_requested, supervisor "
                "FROM run "
                "WHERE status IN ('queued', 'running') ORDER BY id"
            )
        )
    )
    row = conn.execute(
        text(
            "SELECT (SELECT max(id) FROM run), (SELECT max(id) FROM audit), "
            "(SELECT max(id) FROM output_file)"
        )
    ).one()
    lease = conn.execute(
        text("SELECT holder, heartbeat_at FROM lease WHERE name = 'daemon'")
    ).first()
    return Pulse(
        max_run_id=int(row[0] or 0),
        active=active,
        max_audit_id=int(row[1] or 0),
        max_output_id=int(row[2] or 0),
        lease=(str(lease[0]), str(lease[1])) if lease else None,
    )


@dataclass(frozen=True)
class DaemonState:
    """Whether schedules fire: a live daemon, none, or a lease nobody heartbeats."""

    status: str
    lease: LeaseInfo | None = None

    def describe(self, now: datetime | None = None) -> str:
        if self.lease is None:
            return "no daemon: schedules do not fire"
        if self.status == DAEMON_RUNNING:
            return f"daemon pid {self.lease.pid} on {self.lease.host}"
        return f"daemon lease is stale (pid {self.lease.pid}, {self.lease.age(now):.0f}s silent)"


def daemon_state(conn: Connection, now: datetime | None = None) -> DaemonState:
    info = current(conn)
    if info is None:
        return DaemonState(DAEMON_NOT_RUNNING)
    if info.alive(now):
        return DaemonState(DAEMON_RUNNING, info)
    return DaemonState(DAEMON_STALE, info)


def _runs(conn: Connection, sql: str, params: dict[str, object] | None = None) -> list[Run]:
    return [
        Run.model_validate(dict(row)) for row in conn.execute(text(sql), params or {}).mappings()
    ]


def running_runs(conn: Connection, limit: int = 200) -> list[Run]:
    """Runs in progress, oldest start first (for "running now")."""
    return _runs(
        conn,
        "SELECT * FROM run WHERE status = 'running' ORDER BY started_at, id LIMIT :n",
        {"n": limit},
    )


def queued_runs(conn: Connection, limit: int = 200) -> list[Run]:
    return _runs(
        conn,
        "SELECT * FROM run WHERE status = 'queued' ORDER BY queued_at, id LIMIT :n",
        {"n": limit},
    )


def attention_runs(conn: Connection, limit: int = 100) -> list[Run]:
    """Dead runs nobody acknowledged yet, and failed runs whose retry is waiting.

    The literal `dead = 1` lets SQLite use the partial index on dead runs.
    """
    dead = _runs(
        conn,
        "SELECT * FROM run WHERE dead = 1 AND acknowledged_at IS NULL "
        "ORDER BY queued_at DESC, id DESC LIMIT :n",
        {"n": limit},
    )
    waiting = _runs(
        conn,
        "SELECT * FROM run WHERE status = 'queued' AND retry_of IS NOT NULL "
        "ORDER BY queued_at DESC, id DESC LIMIT :n",
        {"n": limit},
    )
    merged = sorted(dead + waiting, key=lambda r: (r.queued_at, r.id or 0), reverse=True)
    return merged[:limit]


@dataclass
class ProjectRate:
    """Finished runs of a project over a window, and how many succeeded."""

    project: str
    ok_24h: int = 0
    total_24h: int = 0
    ok_7d: int = 0
    total_7d: int = 0

    @staticmethod
    def percent(ok: int, total: int) -> float | None:
        return None if total == 0 else 100.0 * ok / total


def success_rates(conn: Connection, now: datetime | None = None) -> dict[str, ProjectRate]:
    """Per project: succeeded / finished runs queued in the last 24 h and 7 d.

    Skipped and cancelled runs do not count: they say nothing about the task's health.
    """
    now = now or utcnow()
    day, week = to_iso(now - timedelta(days=1)), to_iso(now - timedelta(days=7))
    rows = conn.execute(
        text(
            "SELECT project, "
            "sum(status = 'succeeded' AND queued_at >= :day), sum(queued_at >= :day), "
            "sum(status = 'succeeded'), count(*) FROM run "
            "WHERE queued_at >= :week AND status IN ('succeeded', 'failed', 'timed_out', 'lost') "
            "GROUP BY project"
        ),
        {"day": day, "week": week},
    )
    return {
        str(r[0]): ProjectRate(str(r[0]), int(r[1] or 0), int(r[2] or 0), int(r[3]), int(r[4]))
        for r in rows
    }


def latest_runs(conn: Connection, task_keys: Iterable[str]) -> dict[str, Run]:
    """The newest run of each given task: one index probe per task, not a table scan."""
    out: dict[str, Run] = {}
    query = text("SELECT * FROM run WHERE task_key = :k ORDER BY queued_at DESC, id DESC LIMIT 1")
    for key in task_keys:
        row = conn.execute(query, {"k": key}).mappings().first()
        if row is not None:
            out[key] = Run.model_validate(dict(row))
    return out


def active_counts(conn: Connection) -> dict[str, int]:
    """Queued and running runs per task (for "running" markers in task lists)."""
    rows = conn.execute(
        text(
            "SELECT task_key, count(*) FROM run WHERE status IN ('queued', 'running') "
            "GROUP BY task_key"
        )
    )
    return {str(r[0]): int(r[1]) for r in rows}


@dataclass
class TaskOutput:
    """An output file with the run that made it."""

    file: OutputFile
    run_id: int
    queued_at: datetime


def task_outputs(conn: Connection, task_key: str, limit: int = 100) -> list[TaskOutput]:
    """Files recorded by a task's recent runs, newest first."""
    rows = conn.execute(
        text(
            "SELECT o.*, r.queued_at AS run_queued_at FROM output_file o "
            "JOIN (SELECT id, queued_at FROM run WHERE task_key = :k "
            "      ORDER BY queued_at DESC, id DESC LIMIT 200) r ON r.id = o.run_id "
            "ORDER BY r.queued_at DESC, o.id DESC LIMIT :n"
        ),
        {"k": task_key, "n": limit},
    ).mappings()
    out = []
    for row in rows:
        data = dict(row)
        queued = data.pop("run_queued_at")
        item = OutputFile.model_validate(data)
        out.append(TaskOutput(item, item.run_id, _as_datetime(queued)))
    return out


def _as_datetime(value: object) -> datetime:
    from duftui.store.timestamps import from_iso

    if isinstance(value, datetime):
        return value
    parsed = from_iso(str(value))
    assert parsed is not None
    return parsed


def runs_by_id(conn: Connection, run_ids: Iterable[int]) -> dict[int, Run]:
    """Re-read the rows a screen shows (status changes of visible runs)."""
    ids = sorted(set(run_ids))
    out: dict[int, Run] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        rows = conn.execute(RUN.select().where(RUN.c.id.in_(part))).mappings()
        for row in rows:
            run = Run.model_validate(dict(row))
            out[int(run.id or 0)] = run
    return out


@dataclass
class ScheduleMarks:
    """What the daemon recorded about a schedule (last and next fire)."""

    last_fire: dict[str, datetime] = field(default_factory=dict)
    next_fire: dict[str, datetime] = field(default_factory=dict)


def schedule_marks(conn: Connection) -> ScheduleMarks:
    marks = ScheduleMarks()
    for key, last, nxt in conn.execute(
        text("SELECT schedule_key, last_fire, next_fire FROM schedule_state")
    ):
        if last:
            marks.last_fire[str(key)] = _as_datetime(last)
        if nxt:
            marks.next_fire[str(key)] = _as_datetime(nxt)
    return marks
