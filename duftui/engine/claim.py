"""Claiming queued runs (DESIGN §5.1): one `BEGIN IMMEDIATE` transaction, so two
supervisors can never claim the same run.

Limits: a global `max_parallel` counted over every running run in the state file, an
optional per-project `max_parallel`, and no two runs of one task at once unless the task
says `allow_overlap = true`. Queued runs that were cancelled before they started, or whose
task is gone or broken, are ended here instead of being started.

Claiming is on the path of every run's start (dispatch latency), so it is a few fixed
statements with `?` parameters on a plain sqlite3 connection the supervisor keeps open
(no pool checkout, no SQLAlchemy transaction), and the claimed row comes back from
`UPDATE … RETURNING` as a `Claimed`. Queued runs that must be ended instead are returned
as `Unstartable` and ended by `end_unstartable` in a transaction of their own: ending one
can queue dependants, which is SQLAlchemy work that does not belong on the fast path.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from duftui.definitions.loader import Catalogue
from duftui.engine.outcomes import finish_run
from duftui.store.logs import OpenChunk, write_chunks
from duftui.store.states import RunStatus
from duftui.store.timestamps import from_iso, now_iso

_RUNNING = "SELECT project, task_key FROM run WHERE status = 'running'"
_CANDIDATES = (
    "SELECT id, task_key, project, cancel_requested FROM run WHERE status = 'queued' "
    "AND (not_before IS NULL OR not_before <= ?) {scope}"
    "ORDER BY coalesce(not_before, queued_at), id LIMIT 200"
)
_CLAIM = (
    "UPDATE run SET status = 'running', started_at = ?, supervisor = ?, host = ? "
    "WHERE id = ? AND status = 'queued' "
    "RETURNING attempt, max_attempts, params, schedule_key, logical_time, logical_tz"
)
_NEXT_DUE = "SELECT min(not_before) FROM run WHERE status = 'queued' {scope}"
_STARTED = "UPDATE run SET pid = ?, pid_started = ?, output_dir = ? WHERE id = ?"


@dataclass(frozen=True, slots=True)
class Claimed:
    """A run this supervisor now owns, with what is needed to start it."""

    id: int
    task_key: str
    attempt: int = 1
    max_attempts: int = 1
    params: str = "{}"
    schedule_key: str | None = None
    logical_time: datetime | None = None
    logical_tz: str | None = None

    @property
    def run_id(self) -> int:
        return self.id


@dataclass(frozen=True, slots=True)
class Unstartable:
    """A queued run that will never start: cancelled before it started, or its task is
    gone or broken. `end_unstartable` ends it."""

    id: int
    status: RunStatus
    error: str


def claim_runs(
    db: sqlite3.Connection,
    catalogue: Catalogue,
    *,
    supervisor: str,
    host: str,
    max_parallel: int,
    batch_id: int | None = None,
    limit: int | None = None,
) -> tuple[list[Claimed], list[Unstartable]]:
    """Claim what may start now; `db` must be in a write (IMMEDIATE) transaction. Also
    returns the queued runs met on the way that can never start, for `end_unstartable`."""
    now = now_iso()
    running = db.execute(_RUNNING).fetchall()
    total = len(running)
    per_project = Counter(project for project, _ in running)
    per_task = Counter(task for _, task in running)
    free = max_parallel - total
    if limit is not None:
        free = min(free, limit)
    scope, args = ("AND batch_id = ? ", (now, batch_id)) if batch_id is not None else ("", (now,))
    candidates = db.execute(_CANDIDATES.format(scope=scope), args).fetchall()
    claimed: list[Claimed] = []
    unstartable: list[Unstartable] = []
    for run_id, task_key, project, cancel_requested in candidates:
        if cancel_requested:
            unstartable.append(Unstartable(run_id, RunStatus.CANCELLED,
                                           "cancelled before it started"))
            continue
        entry = catalogue.tasks.get(task_key)
        if entry is None or entry.broken or entry.spec is None:
            reason = ("its task no longer exists" if entry is None else
                      "its definition has errors: " + "; ".join(
                          str(p) for p in entry.problems if p.is_error))
            unstartable.append(Unstartable(run_id, RunStatus.FAILED, f"not started: {reason}"))
            continue
        if free <= 0:
            break  # the rest wait for a free slot (cancelled or broken ones ahead are ended)
        project_limit = catalogue.projects[project].spec.max_parallel \
            if project in catalogue.projects else None
        if project_limit is not None and per_project[project] >= project_limit:
            continue
        if per_task[task_key] and not entry.spec.allow_overlap:
            continue
        row = db.execute(_CLAIM, (now, supervisor, host, run_id)).fetchone()
        if row is not None:
            attempt, max_attempts, params, schedule_key, logical_time, logical_tz = row
            claimed.append(Claimed(run_id, task_key, attempt, max_attempts, params,
                                   schedule_key, from_iso(logical_time), logical_tz))
            free -= 1
            per_project[project] += 1
            per_task[task_key] += 1
    return claimed, unstartable


def end_unstartable(conn: Connection, catalogue: Catalogue, runs: list[Unstartable]) -> None:
    """End runs `claim_runs` found can never start (if nobody else ended them since)."""
    for run in runs:
        finish_run(conn, catalogue, run.id, run.status, error=run.error,
                   from_statuses=(RunStatus.QUEUED,))


def next_due(db: sqlite3.Connection, batch_id: int | None = None) -> str | None:
    """The earliest `not_before` among waiting runs (to sleep until it), as ISO text."""
    scope, args = ("AND batch_id = ?", (batch_id,)) if batch_id is not None else ("", ())
    row = db.execute(_NEXT_DUE.format(scope=scope), args).fetchone()
    return row[0] if row else None


def record_started(db: sqlite3.Connection, started: list[tuple[int, int, float | None, str]],
                   first_lines: list[OpenChunk]) -> None:
    """Record `(run_id, pid, process start time, output dir)` of runs just started, and
    their first log lines: what recovery needs to tell a live process from a dead one (a
    pid alone can be reused). `db` is a driver connection in a write transaction."""
    db.executemany(_STARTED, [(pid, at, out, run_id) for run_id, pid, at, out in started])
    write_chunks(db, first_lines)
