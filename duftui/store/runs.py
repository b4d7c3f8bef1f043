"""Run rows: create, fetch, filter and page through history."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, text, update

from duftui.store.db import driver
from duftui.store.run_order import RunOrder
from duftui.store.states import RunStatus, Trigger
from duftui.store.tables import Batch, Run
from duftui.store.timestamps import to_iso, utcnow

RUN = Run.__table__
BATCH = Batch.__table__


@dataclass
class RunFilter:
    """History filters shared by `duftui runs`, exports and the console's History screen."""

    task_key: str | None = None
    project: str | None = None
    statuses: Sequence[str] = ()
    triggers: Sequence[str] = ()
    since: datetime | None = None
    until: datetime | None = None
    batch_id: int | None = None
    dead: bool | None = None
    run_ids: Sequence[int] = field(default_factory=tuple)

    def clauses(self) -> list[Any]:
        c = RUN.c
        where: list[Any] = []
        if self.task_key:
            where.append(c.task_key == self.task_key)
        if self.project:
            where.append(c.project == self.project)
        if self.statuses:
            where.append(c.status.in_(list(self.statuses)))
        if self.triggers:
            where.append(c.trigger.in_(list(self.triggers)))
        if self.since:
            where.append(c.queued_at >= self.since)
        if self.until:
            where.append(c.queued_at < self.until)
        if self.batch_id is not None:
            where.append(c.batch_id == self.batch_id)
        if self.dead is not None:
            where.append(c.dead == (1 if self.dead else 0))
            if self.dead:
                where.append(c.acknowledged_at.is_(None))
        if self.run_ids:
            where.append(c.id.in_(list(self.run_ids)))
        return where

    def raw_where(self, alias: str = "run") -> tuple[str, list[Any]]:
        """The same filter as SQL text with `?` parameters, for the streaming export path."""
        parts: list[str] = []
        params: list[Any] = []

        def add(sql: str, *values: Any) -> None:
            parts.append(sql.replace("$", alias + "."))
            params.extend(values)

        if self.task_key:
            add("$task_key = ?", self.task_key)
        if self.project:
            add("$project = ?", self.project)
        if self.statuses:
            add(f"$status IN ({', '.join('?' * len(self.statuses))})", *self.statuses)
        if self.triggers:
            add(f"$trigger IN ({', '.join('?' * len(self.triggers))})", *self.triggers)
        if self.since:
            add("$queued_at >= ?", to_iso(self.since))
        if self.until:
            add("$queued_at < ?", to_iso(self.until))
        if self.batch_id is not None:
            add("$batch_id = ?", self.batch_id)
        if self.dead is not None:
            add("$dead = ?", 1 if self.dead else 0)
            if self.dead:
                add("$acknowledged_at IS NULL")
        if self.run_ids:
            add(f"$id IN ({', '.join('?' * len(self.run_ids))})", *self.run_ids)
        return (" AND ".join(parts) or "1=1"), params


def insert_run(
    conn: Connection,
    *,
    task_key: str,
    trigger: Trigger | str,
    requested_by: str = "",
    params: dict[str, Any] | None = None,
    batch_id: int | None = None,
    attempt: int = 1,
    max_attempts: int = 1,
    retry_of: int | None = None,
    schedule_key: str | None = None,
    logical_time: datetime | None = None,
    logical_tz: str | None = None,
    not_before: datetime | None = None,
    definition_hash: str | None = None,
    status: RunStatus = RunStatus.QUEUED,
    error: str | None = None,
) -> int:
    """Insert one run (queued unless told otherwise) and return its id."""
    status = RunStatus(status)
    now = utcnow()
    values = {
        "task_key": task_key,
        "project": task_key.split("/", 1)[0],
        "batch_id": batch_id,
        "attempt": attempt,
        "max_attempts": max_attempts,
        "retry_of": retry_of,
        "trigger": str(trigger),
        "requested_by": requested_by,
        "schedule_key": schedule_key,
        "logical_time": to_iso(logical_time),
        "logical_tz": logical_tz,
        "params": json.dumps(params or {}, default=str, sort_keys=True),
        "status": str(status),
        "queued_at": to_iso(now),
        "not_before": to_iso(not_before),
        "definition_hash": definition_hash,
        "error": error,
        "finished_at": to_iso(now) if status.finished else None,
    }
    return _insert(conn, _INSERT_RUN, values)


def insert_batch(
    conn: Connection,
    *,
    project: str,
    trigger: Trigger | str,
    requested_by: str = "",
    schedule_key: str | None = None,
    logical_time: datetime | None = None,
    root_task: str | None = None,
    plan: dict[str, Any] | None = None,
) -> int:
    return _insert(conn, _INSERT_BATCH, {
        "plan": json.dumps(plan or {}, sort_keys=True),
        "project": project,
        "trigger": str(trigger),
        "requested_by": requested_by,
        "schedule_key": schedule_key,
        "logical_time": to_iso(logical_time),
        "root_task": root_task,
        "created_at": to_iso(utcnow()),
    })


def _statement(table: str, columns: tuple[str, ...]) -> str:
    return (f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join(':' + c for c in columns)})")


# Queuing a run is on the path of every fire and every dispatch, so these two inserts go
# to the driver connection of the caller's transaction (a fixed statement, timestamps as
# the stored ISO text) instead of through SQLAlchemy's statement machinery.
_INSERT_RUN = _statement("run", (
    "task_key", "project", "batch_id", "attempt", "max_attempts", "retry_of", "trigger",
    "requested_by", "schedule_key", "logical_time", "logical_tz", "params", "status",
    "queued_at", "not_before", "definition_hash", "error", "finished_at"))
_INSERT_BATCH = _statement("batch", (
    "plan", "project", "trigger", "requested_by", "schedule_key", "logical_time", "root_task",
    "created_at"))


def _insert(conn: Connection, statement: str, values: dict[str, Any]) -> int:
    row_id = driver(conn).execute(statement, values).lastrowid
    assert row_id is not None
    return row_id


def get_run(conn: Connection, run_id: int) -> Run | None:
    row = conn.execute(select(RUN).where(RUN.c.id == run_id)).mappings().first()
    return Run.model_validate(dict(row)) if row else None


def list_runs(
    conn: Connection,
    flt: RunFilter | None = None,
    *,
    limit: int = 100,
    before: tuple[datetime, int] | None = None,
    order: RunOrder | None = None,
    after: int | None = None,
) -> list[Run]:
    """Newest first; page with `before=(queued_at, id)` of the last row seen (keyset paging).

    With `order`, sorted by that column instead, and paged with `after=` the id of the
    last row seen.
    """
    query = select(RUN)
    where = (flt or RunFilter()).clauses()
    if before is not None:
        at, run_id = before
        where.append(or_(RUN.c.queued_at < at, and_(RUN.c.queued_at == at, RUN.c.id < run_id)))
    order = order or RunOrder()
    if after is not None:
        where.append(order.after(after))
    if where:
        query = query.where(and_(*where))
    query = query.order_by(*order.order_by()).limit(limit)
    return [Run.model_validate(dict(row)) for row in conn.execute(query).mappings()]


def count_runs(conn: Connection, flt: RunFilter | None = None) -> int:
    query = select(func.count()).select_from(RUN)
    where = (flt or RunFilter()).clauses()
    if where:
        query = query.where(and_(*where))
    return int(conn.execute(query).scalar_one())


# A skip-scan: walk the distinct task keys through the (task_key, queued_at) index, then
# take each one's newest run from the same index. Cost grows with the number of tasks, not
# of runs (a GROUP BY reads every index entry: a quarter of a second at a million runs).
_LAST_RUNS = text(
    """
    WITH RECURSIVE task(key) AS (
        SELECT (SELECT min(task_key) FROM run)
        UNION ALL
        SELECT (SELECT min(task_key) FROM run WHERE task_key > task.key)
        FROM task WHERE task.key IS NOT NULL
    )
    SELECT {columns} FROM task JOIN run ON run.id = (
        SELECT newest.id FROM run AS newest WHERE newest.task_key = task.key
        ORDER BY newest.queued_at DESC, newest.id DESC LIMIT 1
    )
    """.format(columns=", ".join(f"run.{column.name}" for column in RUN.columns))
).columns(*RUN.columns)  # matched by position, hence the explicit column list


def last_runs_by_task(conn: Connection) -> dict[str, Run]:
    """The newest run of every task (ties on queued_at go to the higher id)."""
    return {
        row["task_key"]: Run.model_validate(dict(row))
        for row in conn.execute(_LAST_RUNS).mappings()
    }


def request_cancel(conn: Connection, run_id: int, reason: str) -> bool:
    """Flag a queued or running run for cancellation; the supervisor acts on the flag."""
    result = conn.execute(
        update(RUN)
        .where(RUN.c.id == run_id, RUN.c.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]))
        .values(cancel_requested=1, cancel_reason=reason)
    )
    return result.rowcount > 0


def acknowledge(conn: Connection, run_id: int, user: str) -> bool:
    """Take a dead run off the "needs attention" list."""
    result = conn.execute(
        update(RUN)
        .where(RUN.c.id == run_id, RUN.c.dead == 1, RUN.c.acknowledged_at.is_(None))
        .values(acknowledged_at=utcnow(), acknowledged_by=user)
    )
    return result.rowcount > 0


def set_result(conn: Connection, run_id: int, value: str) -> None:
    """The run's result: JSON text from `duftui.task.result`, already masked."""
    driver(conn).execute("UPDATE run SET result = ? WHERE id = ?", (value, run_id))


def refuse_retry(conn: Connection, run_id: int) -> None:
    """The task said its failure is permanent (`duftui.task.fail(…, retry=False)`)."""
    driver(conn).execute("UPDATE run SET no_retry = 1 WHERE id = ?", (run_id,))
