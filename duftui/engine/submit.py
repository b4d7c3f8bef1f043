"""Asking for runs: everything that wants a run inserts a `queued` row through here.

A run always belongs to a batch (one workflow execution). Triggering a task queues it and
plans its enabled dependants (`needs`) into the same batch; a project trigger plans all of
its enabled tasks, as a DAG or, with `sequence_tasks`, as a series by rank then key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from duftui.definitions.graph import descendants, topological_order
from duftui.definitions.loader import Catalogue, TaskEntry
from duftui.definitions.secrets import SecretStore
from duftui.engine.params import ParamError, resolve_params
from duftui.engine.templates import logical_local
from duftui.store import audit
from duftui.store.db import Store
from duftui.store.runs import insert_batch, insert_run
from duftui.store.states import RunStatus, Trigger
from duftui.store.timestamps import utcnow


class SubmitError(ValueError):
    """The run cannot be queued; the message says why and what to do."""


class NotFound(SubmitError):
    """No such task or project (the command line exits 4 for it)."""


class BrokenDefinition(SubmitError):
    """The task's definition has errors (the command line exits 1 for it)."""


@dataclass
class Submitted:
    batch_id: int
    run_ids: list[int] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)


def runnable(catalogue: Catalogue, key: str) -> TaskEntry:
    """The task entry, or a SubmitError naming its problems."""
    try:
        entry = catalogue.task(key)
    except KeyError as exc:
        raise NotFound(str(exc.args[0])) from None
    if entry.broken:
        problems = "\n  ".join(str(p) for p in entry.problems if p.is_error)
        raise BrokenDefinition(f"{entry.key} has definition errors:\n  {problems}")
    return entry


def plan_for_task(catalogue: Catalogue, entry: TaskEntry, with_dependants: bool) -> dict[str, Any]:
    """The batch plan: the task, then its enabled dependants with their in-batch parents."""
    tasks = [entry.name]
    if with_dependants:
        graph = _graph(catalogue, entry.project)
        for name in descendants(graph, entry.name):
            other = catalogue.tasks[f"{entry.project}/{name}"]
            if other.spec and other.spec.enabled and not other.broken:
                tasks.append(name)
    return {"mode": "dag", "tasks": tasks, "needs": _needs_within(catalogue, entry.project, tasks)}


def plan_for_project(catalogue: Catalogue, project: str) -> dict[str, Any]:
    entries = [
        e for e in catalogue.project_tasks(project) if e.spec and e.spec.enabled and not e.broken
    ]
    if catalogue.projects[project].spec.sequence_tasks:
        ordered = sorted(entries, key=lambda e: (e.spec.rank if e.spec else 0, e.name))
        return {"mode": "series", "tasks": [e.name for e in ordered], "needs": {}}
    names = [e.name for e in entries]
    graph = {n: catalogue.tasks[f"{project}/{n}"].spec.needs for n in names}  # type: ignore[union-attr]
    ordered = [n for n in topological_order(graph) if n in names]
    return {"mode": "dag", "tasks": ordered, "needs": _needs_within(catalogue, project, ordered)}


def _graph(catalogue: Catalogue, project: str) -> dict[str, list[str]]:
    return {
        e.name: list(e.spec.needs) if e.spec else [] for e in catalogue.project_tasks(project)
    }


def _needs_within(catalogue: Catalogue, project: str, tasks: list[str]) -> dict[str, list[str]]:
    inside = set(tasks)
    needs = {}
    for name in tasks:
        spec = catalogue.tasks[f"{project}/{name}"].spec
        needs[name] = [p for p in (spec.needs if spec else []) if p in inside]
    return needs


def ready_tasks(plan: dict[str, Any]) -> list[str]:
    """Tasks of a fresh plan that can be queued at once."""
    if plan["mode"] == "series":
        return plan["tasks"][:1]
    return [t for t in plan["tasks"] if not plan["needs"].get(t)]


def queue_task_run(
    conn: Connection,
    catalogue: Catalogue,
    entry: TaskEntry,
    *,
    batch_id: int,
    trigger: Trigger | str,
    requested_by: str,
    at: datetime,
    tz_name: str | None,
    schedule_key: str | None = None,
    schedule_params: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    secrets: SecretStore | None = None,
) -> int:
    """Insert one queued run with its resolved (stored, masked) parameters."""
    assert entry.spec is not None
    local = logical_local(at, tz_name)
    resolved = resolve_params(catalogue, entry, at=local, schedule_params=schedule_params,
                              overrides=overrides, secrets=secrets, resolve_secrets=False)
    return insert_run(
        conn,
        task_key=entry.key,
        trigger=trigger,
        requested_by=requested_by,
        params=resolved.stored(),
        batch_id=batch_id,
        max_attempts=1 + entry.spec.retry.extra_attempts,
        schedule_key=schedule_key,
        logical_time=at,
        logical_tz=tz_name,
        definition_hash=entry.digest,
    )


def submit_task(
    store: Store,
    catalogue: Catalogue,
    key: str,
    *,
    trigger: Trigger | str = Trigger.MANUAL,
    requested_by: str | None = None,
    overrides: dict[str, Any] | None = None,
    at: datetime | None = None,
    tz_name: str | None = None,
    schedule_key: str | None = None,
    schedule_params: dict[str, Any] | None = None,
    with_dependants: bool = True,
    secrets: SecretStore | None = None,
) -> Submitted:
    """Queue a task (and plan its dependants) in a new batch; returns the batch and run ids."""
    entry = runnable(catalogue, key)
    user = requested_by or audit.current_user()
    at = at or utcnow()
    # Resolve once outside the transaction so a bad override fails before anything is written.
    try:
        resolve_params(catalogue, entry, at=logical_local(at, tz_name),
                       schedule_params=schedule_params, overrides=overrides, secrets=secrets,
                       resolve_secrets=False)
    except ParamError as exc:
        raise SubmitError(str(exc)) from None
    plan = plan_for_task(catalogue, entry, with_dependants)
    with store.write() as conn:
        batch_id = insert_batch(conn, project=entry.project, trigger=trigger, requested_by=user,
                                schedule_key=schedule_key, logical_time=at, root_task=entry.name,
                                plan=plan)
        run_id = queue_task_run(conn, catalogue, entry, batch_id=batch_id, trigger=trigger,
                                requested_by=user, at=at, tz_name=tz_name,
                                schedule_key=schedule_key, schedule_params=schedule_params,
                                overrides=overrides, secrets=secrets)
        audit.record(conn, "run", entry.key, {"run_id": run_id, "batch_id": batch_id,
                                              "trigger": str(trigger)}, user=user)
    return Submitted(batch_id=batch_id, run_ids=[run_id], planned=plan["tasks"])


def submit_project(
    store: Store,
    catalogue: Catalogue,
    project: str,
    *,
    trigger: Trigger | str = Trigger.MANUAL,
    requested_by: str | None = None,
    at: datetime | None = None,
    tz_name: str | None = None,
    schedule_key: str | None = None,
    schedule_params: dict[str, Any] | None = None,
    secrets: SecretStore | None = None,
) -> Submitted:
    """Queue one batch of every enabled task of a project (DAG or series)."""
    if project not in catalogue.projects:
        raise NotFound(f"no project {project!r}")
    plan = plan_for_project(catalogue, project)
    if not plan["tasks"]:
        raise SubmitError(f"project {project!r} has no enabled, valid tasks to run")
    user = requested_by or audit.current_user()
    at = at or utcnow()
    with store.write() as conn:
        batch_id = insert_batch(conn, project=project, trigger=trigger, requested_by=user,
                                schedule_key=schedule_key, logical_time=at, plan=plan)
        run_ids = []
        for name in ready_tasks(plan):
            entry = catalogue.tasks[f"{project}/{name}"]
            run_ids.append(queue_task_run(
                conn, catalogue, entry, batch_id=batch_id, trigger=trigger, requested_by=user,
                at=at, tz_name=tz_name, schedule_key=schedule_key,
                schedule_params=schedule_params, secrets=secrets))
        audit.record(conn, "run", project, {"batch_id": batch_id, "runs": run_ids,
                                            "trigger": str(trigger)}, user=user)
    return Submitted(batch_id=batch_id, run_ids=run_ids, planned=plan["tasks"])


def load_plan(conn: Connection, batch_id: int) -> dict[str, Any]:
    from sqlalchemy import text

    row = conn.execute(text("SELECT plan FROM batch WHERE id = :b"), {"b": batch_id}).first()
    return json.loads(row[0]) if row and row[0] else {}


def skipped_run(conn: Connection, entry_key: str, batch_id: int, reason: str,
                logical_time: datetime | None, tz_name: str | None) -> int:
    """Record a planned task that will not run, with the reason."""
    return insert_run(conn, task_key=entry_key, trigger=Trigger.DEPENDENCY, batch_id=batch_id,
                      status=RunStatus.SKIPPED, error=reason, logical_time=logical_time,
                      logical_tz=tz_name)
