"""The `[[schedule]]` table shared by tasks and projects (DESIGN §6)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from duftui.definitions.common import (
    DateTimeValue,
    Duration,
    Misfire,
    ParamValue,
    Strict,
    TimezoneName,
)

CRON_FIELDS: tuple[tuple[str, int, int], ...] = (
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day_of_month", 1, 31),
    ("month", 1, 12),
    ("day_of_week", 0, 7),
)
_NUMERIC_PART = re.compile(r"(\*|[0-9]+(?:-[0-9]+)?)(?:/([0-9]+))?")


def cron_field_problem(field: str, value: str | int) -> tuple[str, str] | None:
    """(expected, got) when one cron field is out of range, e.g. ("0-23", "30"), or None.

    Only plain numbers, ranges and steps are checked here; names (MON, JAN), L, # and the
    like are left to croniter, which knows them.
    """
    low, high = next((lo, hi) for name, lo, hi in CRON_FIELDS if name == field)
    if isinstance(value, int):
        return None if low <= value <= high else (f"{low}-{high}", str(value))
    for part in value.split(","):
        match = _NUMERIC_PART.fullmatch(part)
        if not match:
            continue
        numbers = [] if match.group(1) == "*" else match.group(1).split("-")
        for number in numbers:
            if not low <= int(number) <= high:
                return f"{low}-{high}", number
        if match.group(2) is not None and int(match.group(2)) == 0:
            return "step 1 or more", part
    return None


def normalize_cron(expression: str) -> str:
    """Check a 5-field or 6-field (seconds first) cron expression with croniter.

    Returns the expression with single spaces; raises ValueError saying which field is wrong.
    """
    from croniter import croniter
    from croniter.croniter import CroniterError

    fields = expression.split()
    shown = json.dumps(expression)
    if len(fields) not in (5, 6):
        hint = "; a year field is not supported" if len(fields) == 7 else ""
        raise ValueError(
            "expected 5 fields (minute hour day month weekday) or 6 with seconds first, "
            f"got {len(fields)} in {shown}{hint}"
        )
    names = [name for name, _, _ in CRON_FIELDS][6 - len(fields) :]
    for name, text in zip(names, fields, strict=True):
        problem = cron_field_problem(name, text)
        if problem:
            expected, got = problem
            label = name.replace("_", " ")
            raise ValueError(f"expected {label} {expected}, got {got} (in {shown})")
    text = " ".join(fields)
    try:
        croniter(text, 0, second_at_beginning=len(fields) == 6)
    except (CroniterError, ValueError, KeyError, TypeError) as exc:
        # croniter repeats the expression, lower-cased, in brackets: drop that.
        reason = re.sub(r"^\[[^\]]*\]\s*(is\s+)?", "", str(exc)) or type(exc).__name__
        raise ValueError(f"invalid cron expression {shown}: {reason}") from None
    never = _date_never_comes(fields[-3], fields[-2], fields[-1])
    if never:
        raise ValueError(f"{never}: this schedule would never fire (in {shown})")
    return text


MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")
_LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_PLAIN_PART = re.compile(r"(\*|[0-9a-z]+)(?:-([0-9a-z]+))?(?:/([0-9]+))?")


def _date_never_comes(day: str, month: str, weekday: str) -> str | None:
    """Why days of month and months that never meet (`30 2`, `31 4,6`) never fire, or None.

    Only when the weekday is unrestricted: otherwise either field matching is enough. Days
    and months written with L, W, # or ? are left alone.
    """
    if weekday not in ("*", "?"):
        return None
    days = _plain_values(day, 1, 31)
    months = _plain_values(month, 1, 12, [m[:3].lower() for m in MONTH_NAMES])
    if not days or not months:
        return None
    if any(min(days) <= _LONGEST_MONTH[m - 1] for m in months):
        return None
    names = [MONTH_NAMES[m - 1] for m in sorted(months)]
    shown = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"day of month {day} never comes in {shown}"


def _plain_values(text: str, low: int, high: int, names: list[str] | None = None) -> set[int] | None:
    """The values a cron field of numbers, names, ranges and steps allows; None for
    anything else."""
    def number(token: str) -> int | None:
        if token.isdigit():
            return int(token)
        if names and token in names:
            return names.index(token) + low
        return None

    values: set[int] = set()
    for part in text.lower().split(","):
        match = _PLAIN_PART.fullmatch(part)
        if not match:
            return None
        first, last, step = match.groups()
        if first == "*":
            start, end = low, high
        else:
            start_value = number(first)
            end_value = number(last) if last else (high if step else start_value)
            if start_value is None or end_value is None:
                return None
            start, end = start_value, end_value
        span = range(start, end + 1) if start <= end else [
            *range(start, high + 1), *range(low, end + 1)]  # a wrap-around range
        values.update(list(span)[:: int(step or 1)])
    return values


class CronFields(Strict):
    """DUFT's cron object; omitted fields mean "every", except seconds, which mean 0."""

    second: str | int = "0"
    minute: str | int = "*"
    hour: str | int = "*"
    day_of_month: str | int = "*"
    month: str | int = "*"
    day_of_week: str | int = "*"

    @field_validator("*")
    @classmethod
    def _in_range(cls, value: str | int, info: ValidationInfo) -> str | int:
        problem = cron_field_problem(str(info.field_name), value)
        if problem:
            raise ValueError("expected {}, got {}".format(*problem))
        return value

    def expression(self) -> str:
        parts = (
            self.second,
            self.minute,
            self.hour,
            self.day_of_month,
            self.month,
            self.day_of_week,
        )
        return " ".join(str(part) for part in parts)


class Schedule(Strict):
    """One trigger: exactly one of `cron`, `every` or `at`."""

    name: str | None = None
    cron: str | CronFields | None = None
    every: Duration | None = None
    at: DateTimeValue | None = None
    timezone: TimezoneName | None = None
    start: DateTimeValue | None = None
    end: DateTimeValue | None = None
    params: dict[str, ParamValue] = Field(default_factory=dict)
    misfire: Misfire = "coalesce"
    grace: Duration = timedelta(seconds=30)
    max_catchup: int = Field(default=100, ge=1)
    enabled: bool = True

    @field_validator("cron")
    @classmethod
    def _check_cron(cls, value: Any) -> Any:
        if isinstance(value, str):
            return normalize_cron(value)
        if isinstance(value, CronFields):
            normalize_cron(value.expression())
        return value

    @field_validator("every")
    @classmethod
    def _positive_every(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("an interval must be longer than zero")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Schedule:
        given = [name for name in ("cron", "every", "at") if getattr(self, name) is not None]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(f"a schedule needs exactly one of cron, every or at (found: {found})")
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def cron_expression(self) -> str | None:
        """The cron text, 5 fields or 6 with seconds first, whichever form was written."""
        if isinstance(self.cron, CronFields):
            return self.cron.expression()
        return self.cron

    def describe(self) -> str:
        """A one-line summary for tables: "cron 0 6 * * *", "every 15m", "at 2026-12-01 06:00"."""
        if self.cron is not None:
            text = f"cron {self.cron_expression()}"
        elif self.every is not None:
            from duftui.definitions.durations import format_duration

            text = f"every {format_duration(self.every)}"
        else:
            text = f"at {self.at.isoformat(sep=' ', timespec='minutes')}" if self.at else "?"
        if self.timezone:
            text += f" ({self.timezone})"
        return text if self.enabled else f"{text} [off]"


def schedule_key(owner: str, index: int, schedule: Schedule) -> str:
    """Stable identity of a schedule for fire records: "project/task#0" or "project#nightly"."""
    return f"{owner}#{schedule.name or index}"
