"""Moving a batch forward when one of its runs ends for good (DESIGN §5.4).

In a DAG batch a planned task is queued once all of its in-batch parents succeeded, and
recorded as `skipped` (with the reason) once any parent ended without success. In a
series batch the next task is queued after a success; after a failure the rest are
skipped. Everything happens inside the transaction that finished the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from duftui.definitions.loader import Catalogue
from duftui.definitions.secrets import SecretStore
from duftui.engine.submit import load_plan, queue_task_run, skipped_run
from duftui.store.states import RunStatus, Trigger
from duftui.store.timestamps import from_iso


@dataclass(frozen=True)
class TaskState:
    run_id: int
    status: str
    final: bool


def batch_states(conn: Connection, batch_id: int) -> dict[str, TaskState]:
    """The newest run of each task in a batch and whether it is final (no retry pending)."""
    rows = conn.execute(
        text(
            "SELECT id, task_key, status FROM run WHERE batch_id = :b ORDER BY id"
        ),
        {"b": batch_id},
    ).all()
    states: dict[str, TaskState] = {}
    for run_id, task_key, status in rows:
        name = task_key.split("/", 1)[1]
        final = status not in (RunStatus.QUEUED, RunStatus.RUNNING)
        states[name] = TaskState(run_id, status, final)
    return states


def advance_batch(
    conn: Connection,
    catalogue: Catalogue,
    batch_id: int,
    secrets: SecretStore | None = None,
) -> list[int]:
    """Queue or skip whatever the batch's finished runs allow; returns new run ids."""
    plan = load_plan(conn, batch_id)
    if not plan.get("tasks"):
        return []
    row = conn.execute(
        text("SELECT project, logical_time, schedule_key, requested_by FROM batch WHERE id = :b"),
        {"b": batch_id},
    ).first()
    project, logical_iso, schedule_key, requested_by = row
    logical_time = from_iso(logical_iso)
    tz_row = conn.execute(
        text("SELECT logical_tz FROM run WHERE batch_id = :b ORDER BY id LIMIT 1"), {"b": batch_id}
    ).first()
    tz_name = tz_row[0] if tz_row else None
    created: list[int] = []

    def queue(name: str) -> None:
        entry = catalogue.tasks.get(f"{project}/{name}")
        if entry is None or entry.broken or entry.spec is None:
            created.append(skipped_run(conn, f"{project}/{name}", batch_id,
                                       "skipped: its definition is missing or broken",
                                       logical_time, tz_name))
            return
        created.append(queue_task_run(
            conn, catalogue, entry, batch_id=batch_id, trigger=Trigger.DEPENDENCY,
            requested_by=requested_by or "", at=logical_time, tz_name=tz_name,
            schedule_key=schedule_key, secrets=secrets))

    def skip(name: str, reason: str) -> None:
        created.append(skipped_run(conn, f"{project}/{name}", batch_id, reason, logical_time,
                                   tz_name))

    changed = True
    while changed:
        changed = False
        states = batch_states(conn, batch_id)
        if plan["mode"] == "series":
            for index, name in enumerate(plan["tasks"]):
                state = states.get(name)
                previous = states.get(plan["tasks"][index - 1]) if index else None
                if state is not None and state.status == RunStatus.SKIPPED and previous \
                        and previous.status == RunStatus.SUCCEEDED:
                    queue(name)
                    changed = True
                    break
                if state is None:
                    if index == 0 or (previous and previous.status == RunStatus.SUCCEEDED):
                        queue(name)
                    elif previous and previous.final:
                        reason = (f"skipped: series stopped, {plan['tasks'][index - 1]} "
                                  f"ended {previous.status} (run #{previous.run_id})")
                        skip(name, reason)
                    else:
                        break
                    changed = True
                    break
                if not state.final:
                    break
            continue
        for name in plan["tasks"]:
            parents = plan["needs"].get(name, [])
            parent_states = [states.get(p) for p in parents]
            if name in states:
                # A skipped task runs after all if its parents were retried to success.
                if states[name].status == RunStatus.SKIPPED and parents and all(
                    s is not None and s.status == RunStatus.SUCCEEDED for s in parent_states
                ):
                    queue(name)
                    changed = True
                continue
            bad = next((
                (p, s) for p, s in zip(parents, parent_states, strict=True)
                if s is not None and s.final and s.status != RunStatus.SUCCEEDED
            ), None)
            if bad:
                parent, state = bad
                skip(name, f"skipped: needs {parent}, which ended {state.status} "
                           f"(run #{state.run_id})")
                changed = True
            elif all(s is not None and s.status == RunStatus.SUCCEEDED for s in parent_states):
                queue(name)
                changed = True
    return created


def batch_finished(conn: Connection, batch_id: int) -> bool:
    """True when every planned task has a final run and nothing is queued or running."""
    plan = load_plan(conn, batch_id)
    states = batch_states(conn, batch_id)
    if any(not s.final for s in states.values()):
        return False
    return all(name in states for name in plan.get("tasks", []))
