"""Fire records (DESIGN §4, §6): each fire is one `fire` row, UNIQUE(schedule_key,
fire_time), written in the same transaction as the batch and runs it creates and as the
`schedule_state` cursor it advances. A double fire is impossible: a second writer of the
same fire hits the unique constraint, and the cursor moves by compare-and-set.

Runs are queued with the engine's own building blocks (`insert_batch`, `queue_task_run`),
with the fire time as logical time and the schedule's zone, so templates name the fire's
day even when it runs late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from duftui.definitions.loader import Catalogue, TaskEntry
from duftui.definitions.schedules import Schedule
from duftui.definitions.secrets import SecretStore
from duftui.engine.params import ParamError, resolve_params
from duftui.engine.submit import (
    plan_for_project,
    plan_for_task,
    queue_task_run,
    ready_tasks,
)
from duftui.engine.templates import logical_local
from duftui.schedule.misfire import COALESCED, ERROR, QUEUED, SKIPPED, PlannedFire
from duftui.store.audit import current_user
from duftui.store.runs import insert_batch
from duftui.store.states import Trigger
from duftui.store.timestamps import from_iso, to_iso, utcnow


class StateConflict(RuntimeError):
    """Someone else moved this schedule's cursor first (another daemon)."""


@dataclass(frozen=True, slots=True)
class Target:
    """What a schedule fires: a task (`owner` = "project/task") or a whole project."""

    key: str
    owner: str
    is_project: bool
    schedule: Schedule
    tz_name: str | None


@dataclass(frozen=True)
class FireResult:
    fire_time: datetime
    outcome: str
    reason: str | None
    run_ids: tuple[int, ...] = ()
    batch_id: int | None = None


def load_states(conn: Connection) -> dict[str, tuple[datetime | None, datetime | None]]:
    """schedule_key -> (last_fire, next_fire)."""
    rows = conn.execute(text("SELECT schedule_key, last_fire, next_fire FROM schedule_state"))
    return {key: (from_iso(last), from_iso(nxt)) for key, last, nxt in rows}


def save_states(conn: Connection, changed: dict[str, datetime | None], removed: list[str]) -> None:
    """Set next_fire of schedules (keeping last_fire) and forget schedules that are gone."""
    now = to_iso(utcnow())
    for key, nxt in changed.items():
        conn.execute(
            text(
                "INSERT INTO schedule_state (schedule_key, next_fire, updated_at) "
                "VALUES (:k, :n, :now) ON CONFLICT (schedule_key) DO UPDATE SET "
                "next_fire = excluded.next_fire, updated_at = excluded.updated_at"
            ),
            {"k": key, "n": to_iso(nxt), "now": now},
        )
    for key in removed:
        conn.execute(text("DELETE FROM schedule_state WHERE schedule_key = :k"), {"k": key})


# Prepared once: the fire path runs these for every fire, and building a text() clause
# (its bind-parameter parsing) would cost more than executing it.
_ADVANCE = text(
    "UPDATE schedule_state SET next_fire = :n, last_fire = coalesce(:l, last_fire), "
    "updated_at = :now WHERE schedule_key = :k AND next_fire IS :o"
)
_ENSURE_STATE = text(
    "INSERT INTO schedule_state (schedule_key, next_fire, updated_at) VALUES (:k, :o, :now) "
    "ON CONFLICT (schedule_key) DO NOTHING"
)
_INSERT_FIRE = text(
    "INSERT INTO fire (schedule_key, fire_time, outcome, reason, run_id, batch_id, created_at) "
    "VALUES (:k, :t, :o, :r, :run, :b, :now)"
)


def advance_state(
    conn: Connection,
    key: str,
    old_next: datetime | None,
    new_next: datetime | None,
    last_fire: datetime | None,
) -> None:
    """Move the cursor from `old_next` to `new_next`, or raise StateConflict."""
    values = {
        "k": key,
        "n": to_iso(new_next),
        "l": to_iso(last_fire),
        "now": to_iso(utcnow()),
        "o": to_iso(old_next),
    }
    if conn.execute(_ADVANCE, values).rowcount == 1:
        return
    inserted = conn.execute(_ENSURE_STATE, values).rowcount
    if inserted != 1 or conn.execute(_ADVANCE, values).rowcount != 1:
        raise StateConflict(f"{key}: its next fire was already moved by another process")


def record_fires(
    conn: Connection,
    catalogue: Catalogue,
    target: Target,
    plans: list[PlannedFire],
    *,
    secrets: SecretStore | None = None,
    requested_by: str | None = None,
) -> list[FireResult]:
    """Queue the runs of `plans` and insert their fire rows (inside the caller's
    transaction). Raises sqlalchemy's IntegrityError if a fire was already recorded."""
    user = requested_by or current_user()
    results: dict[datetime, FireResult] = {}
    for plan in plans:
        if plan.outcome == QUEUED:
            results[plan.fire_time] = _queue(conn, catalogue, target, plan, user, secrets)
    out = []
    for plan in plans:
        result = results.get(plan.fire_time)
        if result is None:
            covering = results.get(plan.covered_by) if plan.covered_by else None
            reason = plan.reason
            if plan.outcome == COALESCED and covering is not None and covering.outcome != QUEUED:
                reason = f"{reason}; that fire did not run: {covering.reason}"
            result = FireResult(
                plan.fire_time,
                plan.outcome,
                reason,
                covering.run_ids if covering else (),
                covering.batch_id if covering else None,
            )
        _insert_fire(conn, target.key, result)
        out.append(result)
    return out


def _insert_fire(conn: Connection, key: str, result: FireResult) -> None:
    conn.execute(
        _INSERT_FIRE,
        {
            "k": key,
            "t": to_iso(result.fire_time),
            "o": result.outcome,
            "r": result.reason,
            "run": result.run_ids[0] if result.run_ids else None,
            "b": result.batch_id,
            "now": to_iso(utcnow()),
        },
    )


def _queue(
    conn: Connection,
    catalogue: Catalogue,
    target: Target,
    plan: PlannedFire,
    user: str,
    secrets: SecretStore | None,
) -> FireResult:
    """One batch for one fire; a fire that cannot be queued is recorded with the reason.

    Parameters are resolved before anything is written, so a template error leaves no
    half-written batch behind and needs no savepoint.
    """
    at = plan.fire_time
    try:
        if target.is_project:
            batch_id, run_ids = _queue_project(conn, catalogue, target, at, user, secrets)
        else:
            batch_id, run_ids = _queue_task(conn, catalogue, target, at, user, secrets)
    except _NotQueued as exc:
        return FireResult(at, exc.outcome, _join(plan.reason, str(exc)))
    return FireResult(at, QUEUED, plan.reason, tuple(run_ids), batch_id)


def _check_params(
    catalogue: Catalogue,
    entries: list[TaskEntry],
    target: Target,
    at: datetime,
    secrets: SecretStore | None,
) -> None:
    for entry in entries:
        try:
            resolve_params(
                catalogue,
                entry,
                at=logical_local(at, target.tz_name),
                schedule_params=dict(target.schedule.params),
                secrets=secrets,
                resolve_secrets=False,
            )
        except ParamError as exc:
            raise _NotQueued(ERROR, f"could not queue {entry.key}: {exc}") from None


class _NotQueued(Exception):
    def __init__(self, outcome: str, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome


def _queue_task(
    conn: Connection,
    catalogue: Catalogue,
    target: Target,
    at: datetime,
    user: str,
    secrets: SecretStore | None,
) -> tuple[int, list[int]]:
    entry = catalogue.tasks.get(target.owner)
    if entry is None or entry.spec is None or entry.broken:
        raise _NotQueued(ERROR, f"task {target.owner} is missing or has definition errors")
    if not entry.spec.enabled:
        raise _NotQueued(SKIPPED, f"task {target.owner} is disabled")
    params: dict[str, Any] = dict(target.schedule.params)
    _check_params(catalogue, [entry], target, at, secrets)
    plan = plan_for_task(catalogue, entry, with_dependants=True)
    batch_id = insert_batch(
        conn,
        project=entry.project,
        trigger=Trigger.SCHEDULE,
        requested_by=user,
        schedule_key=target.key,
        logical_time=at,
        root_task=entry.name,
        plan=plan,
    )
    run_id = _queue_run(conn, catalogue, entry, batch_id, target, at, user, params, secrets)
    return batch_id, [run_id]


def _queue_run(
    conn: Connection,
    catalogue: Catalogue,
    entry: TaskEntry,
    batch_id: int,
    target: Target,
    at: datetime,
    user: str,
    params: dict[str, Any],
    secrets: SecretStore | None,
) -> int:
    return queue_task_run(
        conn,
        catalogue,
        entry,
        batch_id=batch_id,
        trigger=Trigger.SCHEDULE,
        requested_by=user,
        at=at,
        tz_name=target.tz_name,
        schedule_key=target.key,
        schedule_params=params,
        secrets=secrets,
    )


def _queue_project(
    conn: Connection,
    catalogue: Catalogue,
    target: Target,
    at: datetime,
    user: str,
    secrets: SecretStore | None,
) -> tuple[int, list[int]]:
    if target.owner not in catalogue.projects:
        raise _NotQueued(ERROR, f"project {target.owner} no longer exists")
    plan = plan_for_project(catalogue, target.owner)
    if not plan["tasks"]:
        raise _NotQueued(SKIPPED, f"project {target.owner} has no enabled, valid tasks")
    params: dict[str, Any] = dict(target.schedule.params)
    ready = [catalogue.tasks[f"{target.owner}/{name}"] for name in ready_tasks(plan)]
    _check_params(catalogue, ready, target, at, secrets)
    batch_id = insert_batch(
        conn,
        project=target.owner,
        trigger=Trigger.SCHEDULE,
        requested_by=user,
        schedule_key=target.key,
        logical_time=at,
        plan=plan,
    )
    run_ids = [
        _queue_run(conn, catalogue, entry, batch_id, target, at, user, params, secrets)
        for entry in ready
    ]
    return batch_id, run_ids


def _join(first: str | None, second: str) -> str:
    return f"{first}; {second}" if first else second


def recent_fires(
    conn: Connection,
    *,
    since: datetime | None = None,
    outcomes: tuple[str, ...] = (),
    key_prefix: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Fire rows recorded since `since`, newest fire first (for `duftui status`,
    `duftui schedule fires` and the console)."""
    where, params = ["1=1"], {"limit": limit}
    if since is not None:
        where.append("created_at >= :since")
        params["since"] = to_iso(since)
    if outcomes:
        names = [f":o{i}" for i in range(len(outcomes))]
        where.append(f"outcome IN ({', '.join(names)})")
        params.update({f"o{i}": outcome for i, outcome in enumerate(outcomes)})
    if key_prefix:
        where.append("(schedule_key = :p OR schedule_key LIKE :like ESCAPE '\\')")
        params["p"] = key_prefix
        params["like"] = (
            key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "#%"
        )
    rows = conn.execute(
        text(
            "SELECT schedule_key, fire_time, outcome, reason, run_id, batch_id, created_at "
            f"FROM fire WHERE {' AND '.join(where)} ORDER BY fire_time DESC, id DESC LIMIT :limit"
        ),
        params,
    ).mappings()
    return [
        {**row, "fire_time": from_iso(row["fire_time"]), "created_at": from_iso(row["created_at"])}
        for row in rows
    ]


NOT_RUN = (SKIPPED, COALESCED, ERROR)
