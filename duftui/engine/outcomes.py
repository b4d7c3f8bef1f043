"""Ending a run: record the outcome, queue a retry or mark it dead, move its batch on.

All of it happens in one write transaction, so a run is never left finished without its
retry, or retried twice (the status guard makes a second finish a no-op).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from duftui.definitions.loader import Catalogue
from duftui.definitions.secrets import SecretStore
from duftui.engine.backoff import retry_delay
from duftui.engine.dag import advance_batch
from duftui.store.db import driver
from duftui.store.runs import insert_run
from duftui.store.states import RunStatus, Trigger
from duftui.store.timestamps import from_iso, to_iso, utcnow


@dataclass(frozen=True)
class Usage:
    cpu_user_s: float | None = None
    cpu_sys_s: float | None = None
    max_rss_kb: int | None = None


@dataclass
class FinishOutcome:
    finished: bool
    retry_run_id: int | None = None
    dead: bool = False
    queued: list[int] = field(default_factory=list)


def finish_run(
    conn: Connection,
    catalogue: Catalogue | None,
    run_id: int,
    status: RunStatus,
    *,
    exit_code: int | None = None,
    error: str | None = None,
    usage: Usage | None = None,
    from_statuses: tuple[RunStatus, ...] = (RunStatus.RUNNING,),
    now: datetime | None = None,
    secrets: SecretStore | None = None,
    rng: random.Random | None = None,
) -> FinishOutcome:
    """Move a run from `from_statuses` to a final `status` and do what follows."""
    now = now or utcnow()
    usage = usage or Usage()
    statuses = [str(s) for s in from_statuses]
    db = driver(conn)  # every run ends here: see _FINISH
    row = db.execute(
        _FINISH.format(statuses=", ".join("?" * len(statuses))),
        (str(status), to_iso(now), exit_code, error, usage.cpu_user_s, usage.cpu_sys_s,
         usage.max_rss_kb, run_id, *statuses),
    ).fetchone()
    if row is None:
        return FinishOutcome(finished=False)
    run = _Ended(*row)
    outcome = FinishOutcome(finished=True)
    entry = catalogue.tasks.get(run.task_key) if catalogue else None
    if status.failed and not run.cancel_requested:
        permanent = bool(run.no_retry) or (
            entry is not None
            and entry.spec is not None
            and status == RunStatus.FAILED  # a timeout or a lost run has no exit code of its own
            and not entry.spec.retry.retries_exit_code(exit_code)
        )
        if (
            not permanent
            and run.attempt < run.max_attempts
            and entry is not None
            and entry.spec is not None
        ):
            wait = retry_delay(entry.spec.retry, run.attempt, rng)
            outcome.retry_run_id = insert_run(
                conn,
                task_key=run.task_key,
                trigger=Trigger.RETRY,
                requested_by=run.requested_by,
                batch_id=run.batch_id,
                attempt=run.attempt + 1,
                max_attempts=run.max_attempts,
                retry_of=run_id,
                schedule_key=run.schedule_key,
                logical_time=from_iso(run.logical_time),
                logical_tz=run.logical_tz,
                not_before=now + wait,
                definition_hash=entry.digest,
            )
            db.execute("UPDATE run SET params = ? WHERE id = ?", (run.params, outcome.retry_run_id))
            return outcome
        db.execute("UPDATE run SET dead = 1 WHERE id = ?", (run_id,))
        outcome.dead = True
    if run.batch_id is not None and catalogue is not None:
        outcome.queued = advance_batch(conn, catalogue, run.batch_id, secrets)
    return outcome


# One statement ends the run and returns what the rest needs (no second read, no ORM row):
# the driver connection of the caller's transaction, as for inserts (store/runs.py).
_FINISH = (
    "UPDATE run SET status = ?, finished_at = ?, exit_code = ?, error = ?, cpu_user_s = ?, "
    "cpu_sys_s = ?, max_rss_kb = ? WHERE id = ? AND status IN ({statuses}) "
    "RETURNING task_key, cancel_requested, attempt, max_attempts, requested_by, batch_id, "
    "schedule_key, logical_time, logical_tz, params, no_retry"
)


@dataclass(frozen=True, slots=True)
class _Ended:
    task_key: str
    cancel_requested: int
    attempt: int
    max_attempts: int
    requested_by: str
    batch_id: int | None
    schedule_key: str | None
    logical_time: str | None
    logical_tz: str | None
    params: str
    no_retry: int


def status_exit_code(status: str, exit_code: int | None) -> int:
    """The exit status a command that followed a run returns."""
    if status == RunStatus.SUCCEEDED:
        return 0
    if status == RunStatus.FAILED and exit_code and 0 < exit_code < 126:
        return exit_code
    return {RunStatus.TIMED_OUT: 124, RunStatus.CANCELLED: 130}.get(RunStatus(status), 1)
