"""What `duftui status` and `duftui schedule next` show: pure reads of the store and the
definitions (no daemon needed), with `now` passed in."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, text

from duftui.definitions.loader import Catalogue
from duftui.schedule import lease
from duftui.schedule.record import NOT_RUN, load_states, recent_fires
from duftui.schedule.table import Entry, build_table
from duftui.store.timestamps import from_iso


@dataclass(frozen=True)
class UpcomingFire:
    """One future (or overdue) fire: `at` is on the schedule's own clock."""

    at: datetime
    key: str
    owner: str
    describe: str
    overdue: bool = False
    approximate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "utc_offset": self.at.strftime("%z"),
            "schedule": self.key,
            "owner": self.owner,
            "describe": self.describe,
            "overdue": self.overdue,
            "approximate": self.approximate,
        }


def entries(
    conn: Connection,
    catalogue: Catalogue,
    now: datetime,
    *,
    default_zone: tzinfo | None = None,
    default_tz_name: str | None = None,
) -> tuple[dict[str, Entry], set[str]]:
    """The schedule table as the daemon would build it, and the keys it has no stored
    state for (an interval without `start` is then only placed approximately)."""
    states = load_states(conn)
    table = build_table(
        catalogue, states, now, default_zone=default_zone, default_tz_name=default_tz_name
    )
    return table.entries, {key for key in table.entries if key not in states}


def _describe(entry: Entry) -> str:
    text_ = entry.target.schedule.describe()
    return f"project {text_}" if entry.target.is_project else text_


def upcoming(
    table: dict[str, Entry],
    unknown: set[str],
    now: datetime,
    *,
    limit: int = 10,
    owners: set[str] | None = None,
    after: datetime | None = None,
) -> list[UpcomingFire]:
    """The next `limit` fires over all schedules (or those of `owners`), soonest first.

    Without `after`, each schedule starts at its cursor, so a fire the daemon has not
    handled yet shows as overdue; with `after`, fires strictly after that time.
    """
    streams = []
    for entry in table.values():
        if owners is not None and entry.target.owner not in owners:
            continue
        streams.append(_stream(entry, now, limit, after, entry.key in unknown))
    return list(heapq.merge(*streams, key=lambda fire: fire.at))[:limit]


def next_of_each(
    table: dict[str, Entry], unknown: set[str], now: datetime, *, limit: int | None = None
) -> list[UpcomingFire]:
    """The next fire of every schedule, soonest first: a frequent schedule cannot crowd
    the others out of the list the way a plain "next N fires" does."""
    firsts = [
        fires[0]
        for entry in table.values()
        if (fires := _stream(entry, now, 1, None, entry.key in unknown))
    ]
    firsts.sort(key=lambda fire: (fire.at, fire.key))
    return firsts if limit is None else firsts[:limit]


def within(
    table: dict[str, Entry], unknown: set[str], now: datetime, until: datetime,
    *, limit: int | None = None,
) -> list[UpcomingFire]:
    """Every fire of every schedule up to `until` (overdue ones included), soonest first."""
    streams = []
    for entry in table.values():
        streams.append(_until(entry, now, until, entry.key in unknown))
    merged = heapq.merge(*streams, key=lambda fire: fire.at)
    found: list[UpcomingFire] = []
    for fire in merged:
        if limit is not None and len(found) >= limit:
            break
        found.append(fire)
    return found


def _until(entry: Entry, now: datetime, until: datetime, unknown: bool) -> list[UpcomingFire]:
    current = entry.pending
    if current is None or current > until:
        return []
    times = [current]
    for at in entry.trigger.fires(max(current, now)):
        if at > until:
            break
        times.append(at)
    return [_fire(entry, at, now, unknown) for at in times]


def _stream(
    entry: Entry, now: datetime, limit: int, after: datetime | None, unknown: bool
) -> list[UpcomingFire]:
    trigger = entry.trigger
    found: list[UpcomingFire] = []
    if after is None:
        current = entry.pending
        if current is None:
            return found
        # An overdue cursor shows once; the fires after it follow from `now`.
        times = [current, *_take(trigger.fires(max(current, now)), limit - 1)]
    else:
        times = _take(trigger.fires(after), limit)
    found.extend(_fire(entry, at, now, unknown) for at in times)
    return found


def _fire(entry: Entry, at: datetime, now: datetime, unknown: bool) -> UpcomingFire:
    schedule = entry.target.schedule
    return UpcomingFire(
        entry.trigger.local(at),
        entry.key,
        entry.target.owner,
        _describe(entry),
        overdue=at <= now,
        approximate=unknown and schedule.every is not None and schedule.start is None,
    )


def _take(iterator, n: int) -> list[datetime]:
    out = []
    for item in iterator:
        if len(out) >= n:
            break
        out.append(item)
    return out


def status(
    conn: Connection,
    catalogue: Catalogue,
    now: datetime,
    *,
    fires: int | None = 10,
    every_fire: bool = False,
    window: timedelta = timedelta(hours=24),
    default_zone: tzinfo | None = None,
    default_tz_name: str | None = None,
) -> dict[str, Any]:
    """Daemon lease, running and queued runs, next fires and fires that did not run.

    `next_fires` holds the next fire of each schedule (up to `fires` of them); with
    `every_fire`, every fire within `window` instead (up to `fires`, if given)."""
    info = lease.current(conn)
    alive = info is not None and info.alive(now)
    daemon: dict[str, Any] = {"running": alive}
    if info is not None:
        daemon.update(
            pid=info.pid,
            host=info.host,
            heartbeat_age_s=round(info.age(now), 1),
            since=info.started_at.isoformat(),
            describe=info.describe(now),
            stale=not alive,
        )
    running = [
        {
            "run_id": row[0],
            "task": row[1],
            "started_at": from_iso(row[2]),
            "pid": row[3],
            "trigger": row[4],
            "host": row[5],
        }
        for row in conn.execute(
            text(
                "SELECT id, task_key, started_at, pid, trigger, host FROM run "
                "WHERE status = 'running' ORDER BY started_at, id"
            )
        )
    ]
    queued = conn.execute(text("SELECT count(*) FROM run WHERE status = 'queued'")).scalar()
    table, unknown = entries(
        conn, catalogue, now, default_zone=default_zone, default_tz_name=default_tz_name
    )
    return {
        "daemon": daemon,
        "running": running,
        "queued": int(queued or 0),
        "schedules": len(table),
        "next_fires": [
            f.as_dict()
            for f in (
                within(table, unknown, now, now + window, limit=fires)
                if every_fire
                else next_of_each(table, unknown, now, limit=fires)
            )
        ],
        "not_run": group_fires(
            recent_fires(conn, since=now - window, outcomes=NOT_RUN, limit=1000)
        )[:20],
    }


def group_fires(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive fire rows (newest first) of one schedule with one outcome and one
    covering run become one entry: 70 coalesced fires are one line, not 70."""
    groups: list[dict[str, Any]] = []
    open_group: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = row["schedule_key"]
        group = open_group.get(key)
        if group is not None and (group["outcome"], group["run_id"]) == (
            row["outcome"],
            row["run_id"],
        ):
            group["first_fire"] = row["fire_time"]
            group["count"] += 1
            continue
        group = {**row, "first_fire": row["fire_time"], "last_fire": row["fire_time"], "count": 1}
        open_group[key] = group
        groups.append(group)
    return groups
