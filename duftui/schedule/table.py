"""The schedule table: every enabled schedule of a catalogue with its next unhandled fire.

Pure: built from a catalogue, the stored `schedule_state` rows and `now`. The stored
`next_fire` is the cursor: the earliest fire not handled yet. It is kept across restarts
as long as it is still a fire of the (possibly edited) schedule, so fires missed while
the daemon was down go through the misfire policy; a schedule that is new, or whose
edit makes the stored fire meaningless, starts with its first fire after `now`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo

from duftui.definitions.loader import Catalogue
from duftui.definitions.schedules import schedule_key
from duftui.schedule.record import Target
from duftui.schedule.triggers import Trigger, TriggerError
from duftui.schedule.zones import local_zone, zone_named

States = dict[str, tuple[datetime | None, datetime | None]]


@dataclass(slots=True)
class Entry:
    target: Target
    trigger: Trigger
    fingerprint: str
    pending: datetime | None

    @property
    def key(self) -> str:
        return self.target.key


@dataclass
class Table:
    entries: dict[str, Entry]
    changed: dict[str, datetime | None]
    removed: list[str]
    problems: list[str]


def targets(catalogue: Catalogue, default_tz_name: str | None) -> Iterator[Target]:
    """Enabled schedules of projects and of enabled, valid tasks (disabled tasks never fire)."""
    for project in catalogue.projects.values():
        for index, schedule in enumerate(project.spec.schedule):
            if schedule.enabled:
                yield Target(
                    schedule_key(project.key, index, schedule),
                    project.key,
                    True,
                    schedule,
                    schedule.timezone or default_tz_name,
                )
    for entry in catalogue.tasks.values():
        if entry.spec is None or entry.broken or not entry.spec.enabled:
            continue
        for index, schedule in enumerate(entry.spec.schedule):
            if schedule.enabled:
                yield Target(
                    schedule_key(entry.key, index, schedule),
                    entry.key,
                    False,
                    schedule,
                    schedule.timezone or default_tz_name,
                )


def fingerprint(target: Target) -> str:
    """A short digest of everything that decides a schedule's fire times and runs."""
    data = target.schedule.model_dump(mode="json")
    text = json.dumps([data, target.tz_name, target.is_project], sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def build_table(
    catalogue: Catalogue,
    states: States,
    now: datetime,
    *,
    default_zone: tzinfo | None = None,
    default_tz_name: str | None = None,
    previous: dict[str, Entry] | None = None,
) -> Table:
    """Entries for `catalogue`; `previous` (a running daemon's table) keeps the cursor of
    every schedule whose definition did not change."""
    if default_zone is None:
        default_zone, default_tz_name = local_zone()
    previous = previous or {}
    entries: dict[str, Entry] = {}
    changed: dict[str, datetime | None] = {}
    problems: list[str] = []
    for target in targets(catalogue, default_tz_name):
        if target.key in entries:
            problems.append(
                f"{target.key}: two schedules share this name; the second is "
                "ignored (give each a distinct name)"
            )
            continue
        fp = fingerprint(target)
        prev = previous.get(target.key)
        if prev is not None and prev.fingerprint == fp:
            entries[target.key] = prev
            continue
        last, stored_next = states.get(target.key, (None, None))
        base = prev.pending if prev is not None else stored_next
        known = prev is not None or target.key in states
        try:
            trigger = Trigger(
                target.schedule,
                zone_named(target.schedule.timezone, default_zone),
                anchor=base or last or now,
            )
        except TriggerError as exc:
            problems.append(f"{target.key}: {exc}")
            continue
        pending = initial_pending(trigger, base, last, now, known)
        entries[target.key] = Entry(target, trigger, fp, pending)
        if target.key not in states or states[target.key][1] != pending:
            changed[target.key] = pending
    keep = _protected(catalogue)
    removed = [key for key in states if key not in entries and key.split("#", 1)[0] not in keep]
    return Table(entries, changed, removed, problems)


def initial_pending(
    trigger: Trigger,
    stored_next: datetime | None,
    last: datetime | None,
    now: datetime,
    known: bool,
) -> datetime | None:
    """Where a schedule's cursor starts (see the module docstring)."""
    if stored_next is not None and trigger.is_fire(stored_next):
        return stored_next
    if known and stored_next is None and last is not None:
        return trigger.first_after(max(last, now))
    return trigger.first_after(now)


def _protected(catalogue: Catalogue) -> set[str]:
    """Owners whose state rows survive although they do not fire now: broken tasks (their
    schedules resume, with their missed fires, once the file is fixed)."""
    return {key for key, entry in catalogue.tasks.items() if entry.spec is None or entry.broken}
