"""Claiming queued runs (DESIGN §5.1): one `BEGIN IMMEDIATE` transaction, so two
supervisors can never claim the same run.

Limits: a global `max_parallel` counted over every running run in the state file, an
optional per-project `max_parallel`, and no two runs of one task at once unless the task
says `allow_overlap = true`. Queued runs that were cancelled before they started, or whose
task is gone or broken, are ended here instead of being started.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Connection, text

from duftui.definitions.loader import Catalogue
from duftui.engine.outcomes import finish_run
from duftui.store.runs import get_run
from duftui.store.states import RunStatus
from duftui.store.tables import Run
from duftui.store.timestamps import to_iso, utcnow


@dataclass(frozen=True)
class Claimed:
    run_id: int
    task_key: str
    run: Run | None = None


def claim_runs(
    conn: Connection,
    catalogue: Catalogue,
    *,
    supervisor: str,
    host: str,
    max_parallel: int,
    batch_id: int | None = None,
    limit: int | None = None,
) -> list[Claimed]:
    """Claim what may start now; `conn` must be in a write (IMMEDIATE) transaction."""
    now = utcnow()
    running = conn.execute(
        text("SELECT project, task_key FROM run WHERE status = 'running'")
    ).all()
    total = len(running)
    per_project = Counter(project for project, _ in running)
    per_task = Counter(task for _, task in running)
    free = max_parallel - total
    if limit is not None:
        free = min(free, limit)
    scope = "AND batch_id = :batch " if batch_id is not None else ""
    candidates = conn.execute(
        text(
            "SELECT id, task_key, project, cancel_requested FROM run WHERE status = 'queued' "
            "AND (not_before IS NULL OR not_before <= :now) " + scope +
            "ORDER BY coalesce(not_before, queued_at), id LIMIT 200"
        ),
        {"now": to_iso(now), "batch": batch_id},
    ).all()
    claimed: list[Claimed] = []
    for run_id, task_key, project, cancel_requested in candidates:
        if cancel_requested:
            finish_run(conn, catalogue, run_id, RunStatus.CANCELLED,
                       error="cancelled before it started", from_statuses=(RunStatus.QUEUED,))
            continue
        entry = catalogue.tasks.get(task_key)
        if entry is None or entry.broken or entry.spec is None:
            reason = ("its task no longer exists" if entry is None else
                      "its definition has errors: " + "; ".join(
                          str(p) for p in entry.problems if p.is_error))
            finish_run(conn, catalogue, run_id, RunStatus.FAILED, error=f"not started: {reason}",
                       from_statuses=(RunStatus.QUEUED,))
            continue
        if free <= 0:
            continue
        project_limit = catalogue.projects[project].spec.max_parallel \
            if project in catalogue.projects else None
        if project_limit is not None and per_project[project] >= project_limit:
            continue
        if per_task[task_key] and not entry.spec.allow_overlap:
            continue
        updated = conn.execute(
            text(
                "UPDATE run SET status = 'running', started_at = :now, supervisor = :sup, "
                "host = :host WHERE id = :id AND status = 'queued'"
            ),
            {"now": to_iso(now), "sup": supervisor, "host": host, "id": run_id},
        )
        if updated.rowcount:
            claimed.append(Claimed(run_id, task_key, get_run(conn, run_id)))
            free -= 1
            per_project[project] += 1
            per_task[task_key] += 1
    return claimed


def next_due(conn: Connection, batch_id: int | None = None) -> str | None:
    """The earliest `not_before` among waiting runs (to sleep until it), as ISO text."""
    scope = "AND batch_id = :batch" if batch_id is not None else ""
    row = conn.execute(
        text(f"SELECT min(not_before) FROM run WHERE status = 'queued' {scope}"),
        {"batch": batch_id},
    ).first()
    return row[0] if row else None
