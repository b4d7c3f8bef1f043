"""Next fire times for the Dashboard and Task screens (pure: `now` is an argument).

The times come from the scheduler's own triggers (`duftui.schedule.triggers`), so the
console shows exactly what the daemon will do, DST included. What is added here: the
next 24 hours of every schedule in the workspace, the daemon's recorded next fire as the
anchor of an interval, and an "approximate" mark for an interval nobody anchored yet
(its first fire depends on when a daemon starts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from duftui.definitions.loader import Catalogue
from duftui.definitions.schedules import Schedule
from duftui.schedule.table import targets
from duftui.schedule.triggers import TriggerError, trigger_for


@dataclass(frozen=True)
class Fire:
    """One upcoming fire."""

    at: datetime
    owner: str
    key: str
    describe: str
    approximate: bool = False
    zone: str | None = None  # the schedule's own time zone, if it names one


def next_fires(
    schedule: Schedule,
    after: datetime,
    *,
    until: datetime | None = None,
    count: int = 10,
    default_tz: tzinfo,
    recorded_next: datetime | None = None,
) -> list[tuple[datetime, bool]]:
    """Up to `count` fire instants strictly after `after` (up to `until`), each with a flag
    that says whether it is only approximate (an interval nobody anchored yet)."""
    if not schedule.enabled:
        return []
    approximate = schedule.every is not None and schedule.start is None and not recorded_next
    anchor = recorded_next if recorded_next is not None else (None if schedule.start else after)
    try:
        trigger = trigger_for(schedule, default_tz, anchor)
    except TriggerError:
        return []  # the loader reports bad schedules; the dashboard just leaves them out
    out: list[tuple[datetime, bool]] = []
    for instant in trigger.fires(after, until):
        out.append((instant, approximate))
        if len(out) >= count:
            break
    return out


def upcoming(
    catalogue: Catalogue,
    now: datetime,
    *,
    horizon: timedelta = timedelta(hours=24),
    default_tz: tzinfo,
    recorded_next: dict[str, datetime] | None = None,
    limit: int = 200,
) -> list[Fire]:
    """Every fire of every enabled task and project schedule within `horizon`, soonest first."""
    until = now + horizon
    recorded = recorded_next or {}
    found: list[Fire] = []
    for target in targets(catalogue, None):  # the daemon's own list of what fires
        what = ("project " if target.is_project else "") + target.schedule.describe()
        for at, approx in next_fires(
            target.schedule,
            now,
            until=until,
            count=limit,
            default_tz=default_tz,
            recorded_next=recorded.get(target.key),
        ):
            found.append(
                Fire(at, target.owner, target.key, what, approx, target.schedule.timezone)
            )
    found.sort(key=lambda fire: (fire.at, fire.owner))
    return found[:limit]
