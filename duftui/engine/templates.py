"""Atlas-style date templates, evaluated at a run's logical time (DESIGN §5.3).

Inside `parse(…)` a strftime format may end its last directive with arithmetic:

    parse(%Y-%m-%d-1)     yesterday              parse(%Y%m-1)      last month
    parse(%Y-%m-%d %H+2)  two hours from now     parse(%Y+1)        next year

`%d`, `%m` and `%Y` move by calendar days, months and years (a month step keeps the day
but clamps it to the month's end: 31 March - 1 month = 28/29 February); `%H`, `%M` and
`%S` move by elapsed time, so hour arithmetic across a DST change is exact. Three
keywords stand for the day of the (shifted) month: `firstday` ("01"), `firstday0` ("1",
no padding) and `lastday` ("28"…"31"), e.g. `parse(%Y-%m-1-firstday)` is the first day
of last month. File names and remote paths also expand bare directives (`%Y%m%d`) without
`parse(…)`; parameter values and SQL only expand `parse(…)`.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

_PARSE = re.compile(r"parse\(([^()]*)\)")
_DIRECTIVE = re.compile(r"%-?[A-Za-z%]")
_ARITH = re.compile(r"([+-])(\d+)")
_KEYWORDS = re.compile(r"firstday0|firstday|lastday")
_UNIT_OF = {"d": "days", "j": "days", "a": "days", "A": "days", "m": "months", "b": "months",
            "B": "months", "Y": "years", "y": "years", "H": "hours", "I": "hours",
            "M": "minutes", "S": "seconds"}


class TemplateError(ValueError):
    """A template that cannot be evaluated; the message names it."""


def expand(text: str, at: datetime) -> str:
    """Replace every `parse(…)` in `text` with its value at `at`."""
    if "parse(" not in text:
        return text
    return _PARSE.sub(lambda m: render_format(m.group(1), at), text)


def expand_name(text: str, at: datetime) -> str:
    """Like `expand`, and also format bare strftime directives (for file names and paths)."""
    text = expand(text, at)
    if "%" not in text and not _KEYWORDS.search(text):
        return text
    return render_format(text, at)


def render_format(fmt: str, at: datetime) -> str:
    """One format with optional arithmetic after its last directive and day keywords."""
    directives = list(_DIRECTIVE.finditer(fmt))
    when = at
    if directives:
        last = directives[-1]
        arith = _ARITH.match(fmt, last.end())
        if arith:
            unit = _UNIT_OF.get(last.group(0)[-1])
            if unit is None:
                raise TemplateError(
                    f"cannot do arithmetic on {last.group(0)} in {fmt!r}; "
                    "use %Y, %m, %d, %H, %M or %S"
                )
            amount = int(arith.group(2)) * (1 if arith.group(1) == "+" else -1)
            when = shift(at, unit, amount)
            fmt = fmt[: arith.start()] + fmt[arith.end():]
    keyword = _KEYWORDS.search(fmt)
    if keyword:
        last_day = calendar.monthrange(when.year, when.month)[1]
        if keyword.group(0) == "lastday":
            when = when.replace(day=last_day)
        else:
            when = when.replace(day=1)
        fmt = _KEYWORDS.sub(
            lambda m: {"firstday": "01", "firstday0": "1", "lastday": f"{last_day:02d}"}[m.group(0)],
            fmt,
        )
    return _strftime(when, fmt)


def shift(at: datetime, unit: str, amount: int) -> datetime:
    """Move a datetime by calendar units (days, months, years) or elapsed time."""
    if unit in ("hours", "minutes", "seconds"):
        if at.tzinfo is None:
            return at + timedelta(**{unit: amount})
        moved = at.astimezone(UTC) + timedelta(**{unit: amount})
        return moved.astimezone(at.tzinfo)
    if unit == "days":
        return _wall(at, at.date() + timedelta(days=amount))
    months = amount if unit == "months" else amount * 12
    index = at.year * 12 + (at.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return _wall(at, at.date().replace(year=year, month=month, day=day))


def _wall(at: datetime, day) -> datetime:
    """The same wall-clock time on another day, re-resolving the UTC offset for that day."""
    naive = datetime.combine(day, at.time())
    if at.tzinfo is None:
        return naive
    # fold=0 picks the first of a repeated hour; a time that does not exist that day is
    # normalised by a round trip through UTC to the first valid moment after it.
    local = naive.replace(tzinfo=at.tzinfo, fold=0)
    return local.astimezone(UTC).astimezone(at.tzinfo)


def _strftime(when: datetime, fmt: str) -> str:
    try:
        return when.strftime(fmt)
    except ValueError as exc:
        raise TemplateError(f"bad date format {fmt!r}: {exc}") from None


def logical_local(at: datetime, tz_name: str | None) -> datetime:
    """The logical time on the wall clock that templates use (schedule zone or local)."""
    if tz_name:
        from zoneinfo import ZoneInfo

        return at.astimezone(ZoneInfo(tz_name))
    return at.astimezone()
