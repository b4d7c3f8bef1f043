"""When a schedule fires: pure functions of the schedule and a given time, no clock inside.

Cron expressions are matched on the wall clock of the schedule's zone by croniter (on
naive times, so croniter's own DST handling never applies) and each match is turned into
an instant by `wall_to_instant`: a wall time DST skips fires once at the end of the gap,
a repeated wall time fires once, at its first occurrence. Intervals (`every`) count
elapsed time, so DST does not move them. Every instant here is UTC-aware.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from duftui.definitions.schedules import Schedule
from duftui.schedule.zones import as_instant, wall_of, wall_to_instant, zone_named

TINY = timedelta(microseconds=1)
_RANDOM = re.compile(r"(^|[\s,(])R($|[\s,(])", re.IGNORECASE)


class TriggerError(ValueError):
    """A schedule that cannot be turned into fire times; the message says why."""


class Trigger:
    """The fire times of one schedule.

    `anchor` places an `every` schedule that has no `start` (the daemon passes the fire
    it recorded, or the time it first saw the schedule); fires are anchor + k·every.
    """

    def __init__(self, schedule: Schedule, zone: tzinfo, anchor: datetime | None = None) -> None:
        self.schedule = schedule
        self.zone = zone
        self.start = as_instant(schedule.start, zone) if schedule.start else None
        self.end = as_instant(schedule.end, zone) if schedule.end else None
        self.every = schedule.every
        self.at = as_instant(schedule.at, zone) if schedule.at else None
        self.expression = schedule.cron_expression()
        if self.expression is not None:
            _compiled(self.expression)  # refuse a bad expression now, not at fire time
        anchor_at = self.start or anchor
        self.anchor = anchor_at.astimezone(UTC) if anchor_at is not None else None

    # -- public ----------------------------------------------------------------------

    def first_after(self, after: datetime) -> datetime | None:
        """The first fire strictly after `after` (inside start/end), or None if none."""
        after = after.astimezone(UTC)
        if self.start is not None and after < self.start:
            after = self.start - TINY
        found = self._raw_after(after)
        if found is None or (self.end is not None and found > self.end):
            return None
        return found

    def last_until(self, until: datetime) -> datetime | None:
        """The last fire at or before `until` (inside start/end), or None."""
        until = until.astimezone(UTC)
        if self.end is not None and until > self.end:
            until = self.end
        found = self._raw_until(until)
        if found is None or (self.start is not None and found < self.start):
            return None
        return found

    def is_fire(self, at: datetime) -> bool:
        return self.first_after(at - TINY) == at

    def fires(self, after: datetime, until: datetime | None = None) -> Iterator[datetime]:
        """Fires strictly after `after`, up to and including `until` (endless without)."""
        current = after
        while True:
            found = self.first_after(current)
            if found is None or (until is not None and found > until):
                return
            yield found
            current = found

    def local(self, instant: datetime) -> datetime:
        """An instant on the schedule's own clock (for display with its UTC offset)."""
        return instant.astimezone(self.zone)

    # -- per kind --------------------------------------------------------------------

    def _raw_after(self, after: datetime) -> datetime | None:
        if self.at is not None:
            return self.at if self.at > after else None
        if self.every is not None:
            anchor = self.anchor if self.anchor is not None else after
            if after < anchor:
                return anchor
            steps = (after - anchor) // self.every + 1
            return anchor + steps * self.every
        return self._cron_after(after)

    def _raw_until(self, until: datetime) -> datetime | None:
        if self.at is not None:
            return self.at if self.at <= until else None
        if self.every is not None:
            if self.anchor is None or until < self.anchor:
                return None
            return self.anchor + ((until - self.anchor) // self.every) * self.every
        return self._cron_until(until)

    def _cron_after(self, after: datetime) -> datetime | None:
        """Walk wall-clock matches after the wall reading of `after`; the first whose
        instant lies after `after` wins (several matches may share the end of a gap)."""
        from croniter.croniter import CroniterBadDateError

        assert self.expression is not None
        cron, lock = _compiled(self.expression)
        with lock:
            cron.set_current(wall_of(after, self.zone), force=True)
            for _ in range(100_000):
                try:
                    naive = cron.get_next(datetime)
                except CroniterBadDateError:
                    return None
                instant = wall_to_instant(naive, self.zone)
                if instant > after:
                    return instant
        return None

    def _cron_until(self, until: datetime) -> datetime | None:
        """The last wall-clock match at or before the wall reading of `until`, then forward
        while later matches still map to instants before `until` (during the second pass
        of a repeated hour, its matches map to the first pass)."""
        from croniter.croniter import CroniterBadDateError

        assert self.expression is not None
        cron, lock = _compiled(self.expression)
        wall = wall_of(until, self.zone)
        found: datetime | None = None
        with lock:
            cron.set_current(wall + TINY, force=True)
            try:
                found = cron.get_prev(datetime)
            except CroniterBadDateError:
                pass
            cron.set_current(found or wall, force=True)
            for _ in range(100_000):
                try:
                    naive = cron.get_next(datetime)
                except CroniterBadDateError:
                    break
                if wall_to_instant(naive, self.zone) > until:
                    break
                found = naive
        return wall_to_instant(found, self.zone) if found is not None else None


@lru_cache(maxsize=512)
def _compiled(expression: str) -> tuple[Any, threading.Lock]:
    """A croniter over naive wall-clock times (6 fields are seconds first), shared by the
    triggers with that expression; it is stateful, so each use holds its lock. Caching a
    few hundred keeps 10,000 schedules from holding 10,000 croniters."""
    from croniter import croniter
    from croniter.croniter import CroniterError

    if _RANDOM.search(expression):
        raise TriggerError(
            f"cron {expression!r} uses R (a random value): every process would pick another "
            "time; write the value you want"
        )
    seconds_first = len(expression.split()) == 6
    try:
        cron = croniter(expression, datetime(2000, 1, 1), second_at_beginning=seconds_first)
        return cron, threading.Lock()
    except (CroniterError, ValueError, KeyError, TypeError) as exc:
        raise TriggerError(f"invalid cron expression {expression!r}: {exc}") from None


def trigger_for(
    schedule: Schedule, default_zone: tzinfo | None = None, anchor: datetime | None = None
) -> Trigger:
    """A Trigger in the schedule's zone (`timezone`, else `default_zone`, else the machine's)."""
    return Trigger(schedule, zone_named(schedule.timezone, default_zone), anchor)


def next_fires(
    schedule: Schedule,
    after: datetime,
    n: int = 10,
    *,
    default_zone: tzinfo | None = None,
    anchor: datetime | None = None,
) -> list[datetime]:
    """The next `n` fires strictly after `after`, in the schedule's zone.

    An `every` schedule without `start` or `anchor` is placed at `after` (its first fire is
    one interval later), which is what a daemon started at `after` would do.
    """
    trigger = trigger_for(
        schedule,
        default_zone,
        anchor if anchor is not None else (None if schedule.start else after),
    )
    out = []
    for instant in trigger.fires(after):
        out.append(trigger.local(instant))
        if len(out) >= n:
            break
    return out
