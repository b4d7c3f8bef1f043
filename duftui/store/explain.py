"""The reads `duftui explain` needs: a task's unfinished and last runs, the runs holding
slots, and the batches still waiting on parents. Plain reads, one snapshot."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from duftui.store.timestamps import from_iso


@dataclass(frozen=True)
class RunBrief:
    id: int
    task_key: str
    project: str
    status: str
    queued_at: datetime | None
    not_before: datetime | None
    finished_at: datetime | None
    error: str | None
    attempt: int
    max_attempts: int
    dead: bool
    acknowledged: bool
    batch_id: int | None


_BRIEF = (
    "SELECT id, task_key, project, status, queued_at, not_before, finished_at, error, "
    "attempt, max_attempts, dead, acknowledged_at IS NOT NULL, batch_id FROM run "
)


def _brief(row: Any) -> RunBrief:
    return RunBrief(
        row[0], row[1], row[2], row[3], from_iso(row[4]), from_iso(row[5]), from_iso(row[6]),
        row[7], row[8], row[9], bool(row[10]), bool(row[11]), row[12],
    )


def unfinished_runs(conn: Connection, task_key: str) -> list[RunBrief]:
    rows = conn.execute(
        text(_BRIEF + "WHERE task_key = :t AND status IN ('queued', 'running') ORDER BY id"),
        {"t": task_key},
    )
    return [_brief(row) for row in rows]


def last_ended_run(conn: Connection, task_key: str) -> RunBrief | None:
    row = conn.execute(
        text(
            _BRIEF + "WHERE task_key = :t AND status NOT IN ('queued', 'running') "
            "ORDER BY id DESC LIMIT 1"
        ),
        {"t": task_key},
    ).first()
    return _brief(row) if row is not None else None


def running_counts(conn: Connection) -> tuple[int, dict[str, int], dict[str, int]]:
    """Running runs in all, per project and per task (what the claim's limits count)."""
    total, projects, tasks = 0, {}, {}
    for project, task in conn.execute(
        text("SELECT project, task_key FROM run WHERE status = 'running'")
    ):
        total += 1
        projects[project] = projects.get(project, 0) + 1
        tasks[task] = tasks.get(task, 0) + 1
    return total, projects, tasks


def batches_waiting_for(conn: Connection, task_key: str) -> list[tuple[int, list[str]]]:
    """Unfinished batches whose plan holds `task_key` with no run of it yet, with that
    task's parents in the plan (a child is queued only once its parents have succeeded;
    in a series, once the task before it has)."""
    project, _, name = task_key.partition("/")
    found = []
    rows = conn.execute(
        text(
            "SELECT b.id, b.plan FROM batch b WHERE b.project = :p AND EXISTS (SELECT 1 FROM "
            "run r WHERE r.batch_id = b.id AND r.status IN ('queued', 'running')) AND NOT "
            "EXISTS (SELECT 1 FROM run r WHERE r.batch_id = b.id AND r.task_key = :t)"
        ),
        {"p": project, "t": task_key},
    )
    for batch_id, plan_text in rows:
        try:
            plan = json.loads(plan_text or "{}")
        except ValueError:
            continue
        tasks = plan.get("tasks") if isinstance(plan, dict) else None
        if not isinstance(tasks, list) or name not in tasks:
            continue
        if plan.get("mode") == "series":
            index = tasks.index(name)
            parents = [tasks[index - 1]] if index else []
        else:
            parents = list((plan.get("needs") or {}).get(name, []))
        found.append((batch_id, [f"{project}/{parent}" for parent in parents]))
    return found
