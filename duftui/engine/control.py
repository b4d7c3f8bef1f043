"""Operator actions on runs, shared by the CLI and the console: cancel, cancel retry,
retry now, acknowledge. Each is one write transaction with an audit record."""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass

from sqlalchemy import Connection, text, update

from duftui.definitions.loader import Catalogue
from duftui.engine.identity import identity_alive, process_alive
from duftui.engine.outcomes import finish_run
from duftui.store import audit
from duftui.store.runs import RUN, acknowledge, get_run, insert_run, request_cancel
from duftui.store.states import RunStatus, Trigger
from duftui.store.timestamps import utcnow


class ControlError(ValueError):
    """The action does not apply to that run; the message says why."""


class RunNotFound(ControlError):
    """No run with that id (the command line exits 4 for it)."""


@dataclass(frozen=True)
class ControlResult:
    run_id: int
    message: str


def cancel(conn: Connection, catalogue: Catalogue | None, run_id: int, *, user: str,
           reason: str | None = None) -> ControlResult:
    """Cancel a queued run at once, or ask the supervisor of a running one to stop it."""
    run = get_run(conn, run_id)
    if run is None:
        raise RunNotFound(f"no run #{run_id}")
    why = reason or f"by {user}"
    if run.status == RunStatus.QUEUED:
        request_cancel(conn, run_id, why)
        finish_run(conn, catalogue, run_id, RunStatus.CANCELLED, error=f"cancelled: {why}",
                   from_statuses=(RunStatus.QUEUED,))
        audit.record(conn, "cancel", run.task_key, {"run_id": run_id}, user=user)
        return ControlResult(run_id, f"run #{run_id} cancelled before it started")
    if run.status != RunStatus.RUNNING:
        raise ControlError(f"run #{run_id} already ended ({run.status})")
    request_cancel(conn, run_id, why)
    audit.record(conn, "cancel", run.task_key, {"run_id": run_id}, user=user)
    if identity_alive(run.supervisor) is False:
        # Nobody is left to act on the flag: stop the orphan and end the run here.
        if run.pid and process_alive(run.pid, run.pid_started):
            try:
                os.killpg(run.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        finish_run(conn, catalogue, run_id, RunStatus.CANCELLED,
                   error=f"cancelled: {why} (its supervisor was gone)")
        return ControlResult(run_id, f"run #{run_id} cancelled (its supervisor was gone)")
    return ControlResult(run_id, f"cancel requested for run #{run_id}")


def pending_retry(conn: Connection, run_id: int) -> int | None:
    """The queued retry that follows `run_id` (directly or down its retry chain)."""
    current = run_id
    for _ in range(1000):
        row = conn.execute(
            text("SELECT id, status FROM run WHERE retry_of = :r ORDER BY id DESC LIMIT 1"),
            {"r": current},
        ).first()
        if row is None:
            return None
        if row[1] == RunStatus.QUEUED:
            return int(row[0])
        current = int(row[0])
    return None


def cancel_retry(conn: Connection, catalogue: Catalogue | None, run_id: int, *,
                 user: str) -> ControlResult:
    """Cancel the waiting retry of a failed run (the run itself, if it is that retry)."""
    run = get_run(conn, run_id)
    if run is None:
        raise RunNotFound(f"no run #{run_id}")
    target = run_id if (run.status == RunStatus.QUEUED and run.retry_of) else \
        pending_retry(conn, run_id)
    if target is None:
        raise ControlError(f"run #{run_id} has no retry waiting")
    request_cancel(conn, target, f"retry cancelled by {user}")
    finish_run(conn, catalogue, target, RunStatus.CANCELLED,
               error=f"retry cancelled by {user}", from_statuses=(RunStatus.QUEUED,))
    conn.execute(update(RUN).where(RUN.c.id == target).values(dead=0))
    original = get_run(conn, target)
    if original and original.retry_of:
        conn.execute(update(RUN).where(RUN.c.id == original.retry_of).values(dead=1))
    audit.record(conn, "cancel_retry", run.task_key, {"run_id": target}, user=user)
    return ControlResult(target, f"retry run #{target} cancelled")


def retry_now(conn: Connection, catalogue: Catalogue, run_id: int, *, user: str) -> ControlResult:
    """Queue a finished run again now, with a fresh budget of automatic retries."""
    run = get_run(conn, run_id)
    if run is None:
        raise RunNotFound(f"no run #{run_id}")
    if not RunStatus(run.status).finished:
        raise ControlError(f"run #{run_id} is still {run.status}")
    entry = catalogue.tasks.get(run.task_key)
    if entry is None or entry.spec is None or entry.broken:
        raise ControlError(f"task {run.task_key} is missing or has definition errors")
    new_id = insert_run(
        conn, task_key=run.task_key, trigger=Trigger.RETRY, requested_by=user,
        params=json.loads(run.params or "{}"), batch_id=run.batch_id, attempt=run.attempt + 1,
        max_attempts=run.attempt + 1 + entry.spec.retry.extra_attempts, retry_of=run.id,
        schedule_key=run.schedule_key, logical_time=run.logical_time, logical_tz=run.logical_tz,
        definition_hash=entry.digest,
    )
    if run.dead:
        conn.execute(update(RUN).where(RUN.c.id == run_id).values(
            acknowledged_at=utcnow(), acknowledged_by=f"{user} (retried as #{new_id})"))
    audit.record(conn, "retry", run.task_key, {"run_id": run_id, "new_run_id": new_id}, user=user)
    return ControlResult(new_id, f"run #{run_id} queued again as run #{new_id}")


def acknowledge_dead(conn: Connection, run_id: int, *, user: str) -> ControlResult:
    if not acknowledge(conn, run_id, user):
        raise ControlError(f"run #{run_id} is not a dead run awaiting attention")
    run = get_run(conn, run_id)
    audit.record(conn, "acknowledge", run.task_key if run else str(run_id), {"run_id": run_id},
                 user=user)
    return ControlResult(run_id, f"run #{run_id} acknowledged")
