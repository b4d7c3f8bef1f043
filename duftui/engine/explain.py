"""`duftui explain TASK`: why a task did or did not run, as a chain of reasons read from
the definitions and the state file (nothing guessed).

Each reason has a `kind` (stable, for `--json` and tests) and one sentence. The chain goes
from the definition (broken, disabled) through the daemon (none, stale lease) and the
schedules (next fire, fires the misfire policy skipped) to the task's own runs (a retry
pending, waiting for a slot, an overlap, a parent).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from duftui.definitions.loader import Catalogue, TaskEntry
from duftui.schedule import lease
from duftui.schedule.misfire import COALESCED, ERROR, SKIPPED
from duftui.schedule.record import recent_fires
from duftui.schedule.status import entries
from duftui.store import explain as queries


@dataclass(frozen=True)
class Reason:
    kind: str
    text: str
    at: datetime | None = None
    blocking: bool = False  # this alone keeps the task from running

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "at": self.at.isoformat() if self.at else None,
            "blocking": self.blocking,
        }


def explain(
    conn: Connection,
    catalogue: Catalogue,
    entry: TaskEntry,
    now: datetime,
    *,
    at: datetime | None = None,
    cpu_count: int | None = None,
) -> list[Reason]:
    """The reasons, most fundamental first."""
    reasons: list[Reason] = []
    key = entry.key
    errors = [p for p in entry.problems if p.is_error]
    if entry.broken or entry.spec is None:
        first = str(errors[0]) if errors else "its definition has errors"
        reasons.append(Reason("broken", f"the definition is broken: {first}", blocking=True))
    elif not entry.spec.enabled:
        reasons.append(
            Reason("disabled", "it is disabled (enabled = false): its schedules never fire",
                   blocking=True)
        )
    reasons.extend(_daemon(conn, now))
    reasons.extend(_schedules(conn, catalogue, entry, now, at))
    reasons.extend(_runs(conn, catalogue, entry, now, cpu_count or os.cpu_count() or 1))
    last = queries.last_ended_run(conn, key)
    if last is not None:
        when = last.finished_at or last.queued_at
        detail = f": {last.error.splitlines()[0]}" if last.error else ""
        dead = " (dead: no attempts left" + (
            ", acknowledged)" if last.acknowledged else ", not acknowledged)"
        ) if last.dead else ""
        reasons.append(Reason("last_run", f"its last run #{last.id} {last.status}{dead}{detail}",
                              when))
    elif not any(r.kind in ("queued", "running") for r in reasons):
        reasons.append(Reason("never_ran", "it has never run"))
    return reasons


def _daemon(conn: Connection, now: datetime) -> list[Reason]:
    info = lease.current(conn)
    if info is None:
        return [Reason("no_daemon", "no daemon is running, so no schedule fires (start one "
                       "with `duftui daemon` or `duftui daemon --detach`)", blocking=True)]
    if not info.alive(now):
        return [Reason("stale_daemon", f"the daemon's lease is stale: {info.describe(now)}; "
                       "it is gone or hung, so no schedule fires", info.heartbeat_at,
                       blocking=True)]
    return [Reason("daemon", f"the daemon is running: {info.describe(now)}")]


def _schedules(
    conn: Connection, catalogue: Catalogue, entry: TaskEntry, now: datetime, at: datetime | None
) -> list[Reason]:
    spec = entry.spec
    project = catalogue.projects.get(entry.project)
    own = list(spec.schedule) if spec is not None else []
    project_schedules = list(project.spec.schedule) if project and project.spec else []
    if not own and not project_schedules:
        return [Reason("no_schedule", "it has no schedule: it runs only when started by hand, "
                       "by a retry or as a dependant")]
    table, unknown = entries(conn, catalogue, now)
    reasons = []
    keys = [k for k in table if k.startswith(f"{entry.key}#") or k.startswith(f"{entry.project}#")]
    for schedule_key in sorted(keys):
        item = table[schedule_key]
        describe = item.target.schedule.describe()
        if item.pending is None:
            reasons.append(Reason("schedule_ended", f"schedule {schedule_key} ({describe}) "
                                  "has no more fires"))
        else:
            local = item.trigger.local(item.pending)
            overdue = " (due, not fired yet)" if item.pending <= now else ""
            schedule = item.target.schedule
            rough = schedule_key in unknown and schedule.every is not None and not schedule.start
            approx = " (approximately: an interval without start)" if rough else ""
            reasons.append(Reason("next_fire", f"schedule {schedule_key} ({describe}) fires "
                                  f"next at {local.isoformat(sep=' ', timespec='seconds')}"
                                  f"{overdue}{approx}", local))
    since = (at - timedelta(days=1)) if at else now - timedelta(days=1)
    for fire in recent_fires(conn, since=since, outcomes=(SKIPPED, COALESCED, ERROR),
                             key_prefix=entry.key, limit=1000):
        if at is not None and fire["fire_time"] > at + timedelta(hours=1):
            continue
        word = {SKIPPED: "skipped", COALESCED: "coalesced", ERROR: "not queued"}[fire["outcome"]]
        reasons.append(Reason(f"fire_{fire['outcome']}", f"the fire of {fire['schedule_key']} "
                              f"at {fire['fire_time'].astimezone().isoformat(sep=' ', timespec='seconds')} "
                              f"was {word}: {fire['reason'] or 'no reason recorded'}",
                              fire["fire_time"]))
        break  # the newest is enough to say why; `duftui schedule fires` lists them all
    if at is not None and not any(r.kind.startswith("fire_") for r in reasons):
        fired = recent_fires(conn, since=at - timedelta(days=1), key_prefix=entry.key, limit=50)
        near = [f for f in fired if abs((f["fire_time"] - at).total_seconds()) < 3600]
        if not near:
            reasons.append(Reason("no_fire_recorded", "no fire of its schedules is recorded "
                                  f"within an hour of {at.isoformat(sep=' ', timespec='seconds')}"
                                  ": no schedule was due then, or no daemon was running",
                                  at))
    return reasons


def _runs(
    conn: Connection, catalogue: Catalogue, entry: TaskEntry, now: datetime, cpu_count: int
) -> list[Reason]:
    reasons = []
    total, per_project, per_task = queries.running_counts(conn)
    project = catalogue.projects.get(entry.project)
    limit = project.spec.max_parallel if project and project.spec else None
    overlap = entry.spec.allow_overlap if entry.spec else False
    for run in queries.unfinished_runs(conn, entry.key):
        if run.status == "running":
            reasons.append(Reason("running", f"run #{run.id} is running now", run.queued_at))
            continue
        if run.not_before is not None and run.not_before > now:
            what = f"attempt {run.attempt} of {run.max_attempts}" if run.attempt > 1 else "it"
            reasons.append(Reason("retry_pending", f"run #{run.id} ({what}) waits until "
                                  f"{run.not_before.astimezone().isoformat(sep=' ', timespec='seconds')}"
                                  " (retry backoff)", run.not_before))
        elif per_task.get(entry.key) and not overlap:
            reasons.append(Reason("waiting_overlap", f"run #{run.id} waits: another run of "
                                  "this task is running (allow_overlap = false)"))
        elif limit is not None and per_project.get(entry.project, 0) >= limit:
            reasons.append(Reason("waiting_project_limit", f"run #{run.id} waits: project "
                                  f"{entry.project} already runs {per_project[entry.project]} "
                                  f"(max_parallel = {limit})"))
        elif total >= cpu_count:
            reasons.append(Reason("waiting_slot", f"run #{run.id} waits for a slot: {total} "
                                  "runs are running (max_parallel, by default the CPU count, "
                                  f"{cpu_count} here)"))
        else:
            reasons.append(Reason("queued", f"run #{run.id} is queued and may start now "
                                  "(a supervisor claims it when it wakes)", run.queued_at))
    for batch_id, parents in queries.batches_waiting_for(conn, entry.key):
        names = ", ".join(parents) or "the batch's earlier tasks"
        reasons.append(Reason("waiting_parent", f"batch {batch_id} queues it once {names} "
                              "succeeded"))
    return reasons
