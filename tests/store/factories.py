"""Building runs with chosen values: `insert_run` stamps `queued_at` with the clock, so
tests that need particular times, outcomes or resource figures set them afterwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, update

from duftui.store.runs import RUN, insert_run
from duftui.store.states import RunStatus, Trigger

T0 = datetime(2026, 11, 23, 8, 0, 0, 123456, tzinfo=UTC)


def add_run(
    conn: Connection,
    task_key: str = "clinic/extract",
    *,
    trigger: Trigger | str = Trigger.SCHEDULE,
    status: RunStatus | str = RunStatus.SUCCEEDED,
    requested_by: str = "",
    batch_id: int | None = None,
    **columns: Any,
) -> int:
    """Insert a run, then overwrite any other columns (queued_at, started_at, error, …)."""
    run_id = insert_run(
        conn,
        task_key=task_key,
        trigger=trigger,
        requested_by=requested_by,
        batch_id=batch_id,
    )
    values = {"status": str(status), **columns}
    conn.execute(update(RUN).where(RUN.c.id == run_id).values(**values))
    return run_id


def finished_run(
    conn: Connection,
    task_key: str = "clinic/extract",
    *,
    queued_at: datetime = T0,
    took: timedelta = timedelta(seconds=1.5),
    **columns: Any,
) -> int:
    """A run that queued at `queued_at`, started 2 s later and ran for `took`."""
    started = queued_at + timedelta(seconds=2)
    values: dict[str, Any] = {
        "queued_at": queued_at,
        "started_at": started,
        "finished_at": started + took,
        "exit_code": 0,
        **columns,
    }
    return add_run(conn, task_key, **values)
