"""What to do with fires that are due at once (DESIGN §6): pure, `now` is an argument.

A fire handled within `grace` of its time is on time; a later one is *missed* (the
daemon was down or stalled). While nothing is missed every due fire runs. Otherwise the
schedule's `misfire` policy decides:

- `skip`: missed fires do not run (each is recorded `skipped` with the reason); fires
  still within grace run;
- `coalesce`: all due fires, missed or not, become one run whose logical time is the
  latest of them; the others are recorded `coalesced` into it;
- `all`: every due fire runs, oldest first, but at most `max_catchup` missed ones (the
  most recent); older missed fires are recorded `skipped` and a warning is logged.

A backlog longer than SCAN_LIMIT (an every-second schedule after a weekend) is not
listed one by one: its oldest part is recorded as one row that says how many it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from duftui.definitions.durations import format_duration
from duftui.schedule.triggers import TINY, Trigger

QUEUED = "queued"
SKIPPED = "skipped"
COALESCED = "coalesced"
ERROR = "error"
OUTCOMES = (QUEUED, SKIPPED, COALESCED, ERROR)
SCAN_LIMIT = 1000


@dataclass(frozen=True)
class PlannedFire:
    """One fire and what becomes of it; `covered_by` is the fire whose run stands for a
    coalesced one."""

    fire_time: datetime
    outcome: str
    reason: str | None = None
    covered_by: datetime | None = None


@dataclass(frozen=True)
class Backlog:
    """Due fires, oldest first; `omitted` fires before them (from `omitted_from`) were
    too many to list (their count is a lower bound when `omitted_exact` is False)."""

    fires: list[datetime]
    omitted: int = 0
    omitted_from: datetime | None = None
    omitted_to: datetime | None = None
    omitted_exact: bool = True


@dataclass
class Plan:
    fires: list[PlannedFire] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for fire in self.fires if fire.outcome == outcome)


def collect_due(
    trigger: Trigger,
    first: datetime,
    now: datetime,
    *,
    grace: timedelta,
    keep: int,
    limit: int = SCAN_LIMIT,
) -> Backlog:
    """The fires from `first` (itself a fire) up to `now`, bounded by `limit`.

    When there are more, the most recent are kept (enough for `keep` missed fires plus
    every fire still within `grace`) and the rest is summarised.
    """
    fires = [first]
    for fire in trigger.fires(first, now):
        fires.append(fire)
        if len(fires) > limit:
            break
    else:
        return Backlog(fires)
    tail: list[datetime] = []
    cursor, missed = now, 0
    while True:
        fire = trigger.last_until(cursor)
        if fire is None or fire <= first:
            break
        late = now - fire > grace
        if late and missed >= max(keep, 1):
            break
        tail.append(fire)
        missed += late
        cursor = fire - TINY
    tail.reverse()
    if not tail:
        return Backlog(fires[:limit])
    omitted_to = trigger.last_until(tail[0] - TINY) or first
    if trigger.every is not None:
        count, exact = (tail[0] - first) // trigger.every, True
    else:
        count, exact = sum(1 for f in fires if f < tail[0]), False
    return Backlog(
        tail, omitted=count, omitted_from=first, omitted_to=omitted_to, omitted_exact=exact
    )


def plan_backlog(
    backlog: Backlog, now: datetime, *, policy: str, grace: timedelta, max_catchup: int
) -> Plan:
    """Decide the outcome of every due fire (see the module docstring)."""
    plan = Plan()
    on_time = [t for t in backlog.fires if now - t <= grace]
    missed = [t for t in backlog.fires if now - t > grace]
    grace_text = format_duration(grace)
    if policy == "skip":
        for t in missed:
            plan.fires.append(
                PlannedFire(
                    t, SKIPPED, f"missed by {span(now - t)} (grace {grace_text}); misfire = skip"
                )
            )
    elif policy == "coalesce" and missed:
        last = backlog.fires[-1]
        for t in backlog.fires[:-1]:
            plan.fires.append(
                PlannedFire(
                    t,
                    COALESCED,
                    f"coalesced into the run for {stamp(last)} (misfire = coalesce)",
                    last,
                )
            )
        total = len(backlog.fires) + backlog.omitted
        plan.fires.append(
            PlannedFire(
                last,
                QUEUED,
                (
                    f"{total} due fires run once (misfire = coalesce), the oldest "
                    f"{span(now - (backlog.omitted_from or backlog.fires[0]))} late"
                    if total > 1
                    else f"{span(now - last)} late (misfire = coalesce)"
                ),
            )
        )
        return _with_summary(plan, backlog, policy, max_catchup, missed)
    elif policy == "all":
        dropped = missed[:-max_catchup] if len(missed) > max_catchup else []
        kept = missed[len(dropped) :]
        total = len(missed) + backlog.omitted
        if dropped or backlog.omitted:
            plan.warnings.append(
                f"{total}{'' if backlog.omitted_exact else '+'} missed fires, more than "
                f"max_catchup = {max_catchup}: running the latest {len(kept)}, skipping "
                "the older ones"
            )
        for t in dropped:
            plan.fires.append(PlannedFire(t, SKIPPED, _capped(max_catchup, total)))
        for t in kept:
            plan.fires.append(
                PlannedFire(t, QUEUED, f"caught up {span(now - t)} late (misfire = all)")
            )
    for t in on_time:
        plan.fires.append(PlannedFire(t, QUEUED))
    return _with_summary(plan, backlog, policy, max_catchup, missed)


def _with_summary(
    plan: Plan, backlog: Backlog, policy: str, max_catchup: int, missed: list[datetime]
) -> Plan:
    if backlog.omitted and backlog.omitted_from is not None:
        plan.fires.insert(0, _summary(backlog, policy, max_catchup, missed))
    return plan


def _summary(
    backlog: Backlog, policy: str, max_catchup: int, missed: list[datetime]
) -> PlannedFire:
    count = f"{backlog.omitted}{'' if backlog.omitted_exact else '+'}"
    assert backlog.omitted_from is not None
    where = (
        f"{count} earlier missed fires ({stamp(backlog.omitted_from)} to "
        f"{stamp(backlog.omitted_to or backlog.omitted_from)}), recorded as this one row"
    )
    if policy == "coalesce" and missed:
        last = backlog.fires[-1]
        return PlannedFire(
            backlog.omitted_from,
            COALESCED,
            f"{where}; coalesced into the run for {stamp(last)}",
            last,
        )
    why = (
        "misfire = skip"
        if policy == "skip"
        else (f"beyond max_catchup = {max_catchup}" if policy == "all" else "no run")
    )
    return PlannedFire(backlog.omitted_from, SKIPPED, f"{where}; {why}")


def _capped(max_catchup: int, total: int) -> str:
    return (
        f"not caught up: {total} fires were missed and max_catchup = {max_catchup} "
        "runs only the latest (misfire = all)"
    )


def stamp(at: datetime) -> str:
    """A fire time in reasons: UTC, to the second ("2026-03-29T01:00:00Z")."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def span(delta: timedelta) -> str:
    """A lateness for people: "850ms", "12.3s", "5m 10s", "2h 5m", "3d 4h"."""
    seconds = delta.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    for unit, size, sub, sub_size in (
        ("d", 86400, "h", 3600),
        ("h", 3600, "m", 60),
        ("m", 60, "s", 1),
    ):
        if whole >= size:
            rest = (whole % size) // sub_size
            return f"{whole // size}{unit}" + (f" {rest}{sub}" if rest else "")
    return f"{whole}s"
