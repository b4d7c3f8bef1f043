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
_RANDOM = re.compile(r"(^|[\s,(])R($|[\s,(])", re.IGNORECASE)
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
        hint = f"; {REFUSED_QUARTZ_FORMS['year field']}" if len(fields) == 7 else ""
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
    if _RANDOM.search(expression):
        raise ValueError(
            f"R (a random value) is not supported: every process would pick another time; "
            f"write the value you want (in {shown})"
        )
    refused = quartz_refusal(fields[-3], fields[-2], fields[-1])
    if refused:
        raise ValueError(f"{refused} (in {shown})")
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


# The Quartz forms duftui refuses, by the name docs/schedules.md gives them, with the
# message; the docs list exactly these (a test compares the two).
REFUSED_QUARTZ_FORMS: dict[str, str] = {
    "L-n": "day of month L-n (n days before the last day) is not supported; list the days "
    "you want, or use L for the last day",
    "LW": "day of month LW (the last weekday of the month) is not supported; use L, or a "
    "weekday list with L",
    "W in a list": "W (the weekday nearest a day) takes a single day, not a list or range; "
    "use one schedule per day",
    "nL": "day of week nL (the last such weekday of the month, e.g. 5L) is not supported; "
    "use an nth weekday such as 5#4, or two schedules",
    "L as a weekday": "L in the day of week (Saturday in Quartz) is not supported; write SAT",
    "# in a list": "a day of week list cannot mix nth weekdays (like 5#3) with plain "
    "weekdays or L; use one schedule for each",
    "# with a range": "an nth weekday (like 5#2) takes one weekday, not a range or step",
    "# with a day of month": "an nth weekday (like 5#2) cannot be combined with a day of "
    "month: the scheduler cannot honour both; write ? for the day of month, or use two "
    "schedules",
    "#0, #6": "the n of an nth weekday (like 5#2) must be 1-5",
    "year field": "a year field is not supported",
    "NW on a missing day": "day of month {day} never comes in {months}, so {field} has no "
    "weekday to be near",
}
_NTH = re.compile(r"([0-9a-z]+)#([0-9]+)")


def quartz_refusal(day: str, month: str, weekday: str) -> str | None:
    """Why the day fields use a Quartz form the scheduler cannot honour, or None.

    croniter refuses some of these with a terse "not acceptable" and accepts others that
    then never fire (an nth weekday with a day of month) or fire on other days than
    meant; each gets one clear message here."""
    day, weekday = day.lower(), weekday.lower()
    forms = REFUSED_QUARTZ_FORMS
    if re.search(r"l-[0-9]", day):
        return forms["L-n"]
    if "lw" in day:
        return forms["LW"]
    if "w" in day and ("," in day or "-" in day or "/" in day):
        return forms["W in a list"]
    parts = weekday.split(",")
    if any(re.fullmatch(r"([0-7]|[a-z]{3})l", part) for part in parts):
        return forms["nL"]
    nth = [part for part in parts if "#" in part]
    if "l" in parts and not nth:
        return forms["L as a weekday"]
    if nth:
        if len(nth) != len(parts):
            return forms["# in a list"]
        for part in nth:
            match = _NTH.fullmatch(part)
            if not match:
                return forms["# with a range"]
            if not 1 <= int(match.group(2)) <= 5:
                return forms["#0, #6"]
        if day not in ("*", "?"):
            return forms["# with a day of month"]
    return None


MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")
_LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_PLAIN_PART = re.compile(r"(\*|[0-9a-z]+)(?:-([0-9a-z]+))?(?:/([0-9]+))?")


def _date_never_comes(day: str, month: str, weekday: str) -> str | None:
    """Why days of month and months that never meet (`30 2`, `31 4,6`) never fire, or None.

    Only when the weekday is unrestricted: otherwise either field matching is enough. A
    single `NW` day counts too, whatever the weekday (croniter would move it to another
    day of those months). Other days and months written with L, W, # or ? are left alone.
    """
    nearest = re.fullmatch(r"([0-9]+)[wW]", day)
    if nearest:
        months = _plain_values(month, 1, 12, [m[:3].lower() for m in MONTH_NAMES])
        number = int(nearest.group(1))
        if months and all(number > _LONGEST_MONTH[m - 1] for m in months):
            return REFUSED_QUARTZ_FORMS["NW on a missing day"].format(
                day=number, months=_month_list(months), field=day
            )
        return None
    if weekday not in ("*", "?"):
        return None
    days = _plain_values(day, 1, 31)
    months = _plain_values(month, 1, 12, [m[:3].lower() for m in MONTH_NAMES])
    if not days or not months:
        return None
    if any(min(days) <= _LONGEST_MONTH[m - 1] for m in months):
        return None
    return f"day of month {day} never comes in {_month_list(months)}"


def _month_list(months: set[int]) -> str:
    names = [MONTH_NAMES[m - 1] for m in sorted(months)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


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


def schedule_key_problems(
    schedules: list[Schedule], owner: str = "task"
) -> list[tuple[tuple[str | int, ...], str]]:
    """Schedules of one owner that share a key (a name, or a position used as a name): the
    scheduler keys fires by it, so the second would silently never fire."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    seen: dict[str, int] = {}
    for index, schedule in enumerate(schedules):
        key = schedule.name or str(index)
        if key in seen:
            other = seen[key]
            what = (
                f"schedule[{other}] is also named {json.dumps(key)}"
                if schedules[other].name
                else f"{json.dumps(key)} is also the position of schedule[{other}], which has no name"
            )
            found.append(
                (
                    ("schedule", index, "name"),
                    f"{what}: this schedule would never fire; give each schedule of a "
                    f"{owner} its own name",
                )
            )
        else:
            seen[key] = index
    return found


def schedule_key(owner: str, index: int, schedule: Schedule) -> str:
    """Stable identity of a schedule for fire records: "project/task#0" or "project#nightly"."""
    return f"{owner}#{schedule.name or index}"
