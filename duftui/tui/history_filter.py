"""The History filter line: `project:clinic status:failed since:7d` → a RunFilter.

One line of text fits an 80-column terminal better than a form, and the same words work
in every terminal. Bare words are task keys (`demo/hello`) or project keys (`demo`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from duftui.definitions.durations import parse_duration
from duftui.store.runs import RunFilter
from duftui.store.states import RunStatus, Trigger

KEYS = ("project", "task", "status", "trigger", "since", "until", "batch", "dead")
STATUSES = [s.value for s in RunStatus]
TRIGGERS = [t.value for t in Trigger]


class FilterError(ValueError):
    """The filter text has a word that means nothing; the message says what is allowed."""


def parse_time(value: str, now: datetime, tz: tzinfo) -> datetime:
    """ "7d" / "2h" (ago), "today", "2026-03-01" or "2026-03-01T06:00" (local time)."""
    if value == "today":
        local = now.astimezone(tz)
        return local.replace(hour=0, minute=0, second=0, microsecond=0)
    if value and value[0].isdigit() and value[-1] in "smhdw" and "-" not in value:
        try:
            return now - parse_duration(value)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise FilterError(
            f"{value!r}: expected a time like 2026-03-01, 2026-03-01T06:00, today, 2h or 7d"
        ) from None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


def parse_filter(text: str, now: datetime, tz: tzinfo) -> RunFilter:
    flt = RunFilter()
    statuses: list[str] = []
    triggers: list[str] = []
    for word in text.split():
        key, sep, value = word.partition(":")
        if not sep:
            if "/" in word:
                flt.task_key = word
            else:
                flt.project = word
            continue
        key = key.lower()
        if key not in KEYS or not value:
            raise FilterError(f"{word!r}: use {', '.join(k + ':' for k in KEYS)}")
        if key == "project":
            flt.project = value
        elif key == "task":
            flt.task_key = value
        elif key == "status":
            for item in value.split(","):
                if item not in STATUSES:
                    raise FilterError(f"status {item!r}: one of {', '.join(STATUSES)}")
                statuses.append(item)
        elif key == "trigger":
            for item in value.split(","):
                if item not in TRIGGERS:
                    raise FilterError(f"trigger {item!r}: one of {', '.join(TRIGGERS)}")
                triggers.append(item)
        elif key == "since":
            flt.since = parse_time(value, now, tz)
        elif key == "until":
            until = parse_time(value, now, tz)
            if len(value) == 10 and value[4] == "-":
                until += timedelta(days=1)  # a date means "up to the end of that day"
            flt.until = until
        elif key == "batch":
            if not value.isdigit():
                raise FilterError(f"batch {value!r}: expected a batch number")
            flt.batch_id = int(value)
        elif key == "dead":
            flt.dead = value.lower() in ("yes", "true", "1")
    flt.statuses = tuple(statuses)
    flt.triggers = tuple(triggers)
    return flt


def describe(flt: RunFilter) -> str:
    """What the current filter selects, for the export dialog."""
    parts = []
    if flt.project:
        parts.append(f"project {flt.project}")
    if flt.task_key:
        parts.append(f"task {flt.task_key}")
    if flt.statuses:
        parts.append("status " + "/".join(flt.statuses))
    if flt.triggers:
        parts.append("trigger " + "/".join(flt.triggers))
    if flt.since:
        parts.append(f"since {flt.since:%Y-%m-%d %H:%M}")
    if flt.until:
        parts.append(f"until {flt.until:%Y-%m-%d %H:%M}")
    if flt.batch_id is not None:
        parts.append(f"batch {flt.batch_id}")
    if flt.dead:
        parts.append("dead")
    return ", ".join(parts) or "all runs"
