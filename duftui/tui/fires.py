"""Next fire times for the Dashboard and Task screens (pure: `now` is an argument).

This is a display helper, not the daemon's scheduler: the daemon decides when things
really fire (misfire policy, DST rules, its own interval anchor). Until the schedule
package offers a shared `next_fires`, the console computes the same croniter-based times
here; interval schedules use `start`, else the daemon's recorded next fire, else "one
interval from now" marked approximate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from duftui.definitions.loader import Catalogue
from duftui.definitions.schedules import Schedule, schedule_key

MAX_PER_SCHEDULE = 500


@dataclass(frozen=True)
class Fire:
    """One upcoming fire."""

    at: datetime
    owner: str
    key: str
    describe: str
    approximate: bool = False


def _zone(schedule: Schedule, default: tzinfo) -> tzinfo:
    return ZoneInfo(schedule.timezone) if schedule.timezone else default


def _aware(value: datetime, zone: tzinfo) -> datetime:
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def next_fires(
    schedule: Schedule,
    after: datetime,
    *,
    until: datetime | None = None,
    count: int = 10,
    default_tz: tzinfo,
    recorded_next: datetime | None = None,
) -> list[tuple[datetime, bool]]:
    """Up to `count` fire times strictly after `after` (and before `until`), with a flag
    that says whether the time is only approximate (an interval without an anchor)."""
    if not schedule.enabled:
        return []
    zone = _zone(schedule, default_tz)
    start = _aware(schedule.start, zone) if schedule.start else None
    end = _aware(schedule.end, zone) if schedule.end else None
    limit = until if end is None else (end if until is None else min(until, end))
    out: list[tuple[datetime, bool]] = []

    def keep(at: datetime, approximate: bool = False) -> bool:
        if limit is not None and at >= limit:
            return False
        if start is not None and at < start:
            return True
        out.append((at, approximate))
        return len(out) < count

    if schedule.at is not None:
        at = _aware(schedule.at, zone)
        if at > after:
            keep(at)
        return out
    if schedule.every is not None:
        step = schedule.every
        approximate = False
        if start is not None:
            anchor = start
        elif recorded_next is not None:
            anchor = recorded_next
        else:
            anchor, approximate = after, True
        if anchor > after:
            at = anchor
        else:
            at = anchor + step * ((after - anchor) // step + 1)
        for _ in range(count):
            if not keep(at, approximate):
                break
            at += step
        return out
    _cron_fires(schedule, after, zone, keep)
    return out


def _cron_fires(
    schedule: Schedule, after: datetime, zone: tzinfo, keep: Callable[[datetime], bool]
) -> None:
    from croniter import croniter

    expression = schedule.cron_expression() or ""
    seconds_first = len(expression.split()) == 6
    base = after.astimezone(zone)
    it = croniter(expression, base, second_at_beginning=seconds_first)
    for _ in range(MAX_PER_SCHEDULE):
        at = it.get_next(datetime)
        if not keep(at):
            break


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
    for project in catalogue.projects.values():
        for index, schedule in enumerate(project.spec.schedule):
            key = schedule_key(project.key, index, schedule)
            for at, approx in next_fires(schedule, now, until=until, count=limit,
                                         default_tz=default_tz, recorded_next=recorded.get(key)):
                found.append(Fire(at, project.key, key, "project " + schedule.describe(), approx))
    for entry in catalogue.tasks.values():
        if entry.spec is None or entry.broken or not entry.spec.enabled:
            continue
        for index, schedule in enumerate(entry.spec.schedule):
            key = schedule_key(entry.key, index, schedule)
            for at, approx in next_fires(schedule, now, until=until, count=limit,
                                         default_tz=default_tz, recorded_next=recorded.get(key)):
                found.append(Fire(at, entry.key, key, schedule.describe(), approx))
    found.sort(key=lambda fire: (fire.at, fire.owner))
    return found[:limit]
