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

Output file names (`[output] name`, `zip_name`) may also name a parameter: `{day}` is its
value, `{day:%Y%m%d}` its value read as an ISO date (or date-time) and formatted, so
`visits_{day:%Y%m%d}.csv` follows `-p day=2025-06-01`. `{{` and `}}` are literal braces.
A value that would change the folder (`/`, a backslash, `..`, a leading `~`) or holds a control
character is refused, and so is a secret parameter.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

_PARSE = re.compile(r"parse\(([^()]*)\)")
_DIRECTIVE = re.compile(r"%-?[A-Za-z%]")
_ARITH = re.compile(r"([+-])(\d+)")
_KEYWORDS = re.compile(r"firstday0|firstday|lastday")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}|[{}]")
_HOLD = 0xE000  # private-use characters stand in for parameters while dates are expanded
_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f]")
_UNIT_OF = {"d": "days", "j": "days", "a": "days", "A": "days", "m": "months", "b": "months",
            "B": "months", "Y": "years", "y": "years", "H": "hours", "I": "hours",
            "M": "minutes", "S": "seconds"}


class TemplateError(ValueError):
    """A template that cannot be evaluated; the message names it."""


class Secret:
    """Stands for a secret parameter's value where a file name must not show it."""

    def __repr__(self) -> str:
        return "Secret()"


def expand(text: str, at: datetime) -> str:
    """Replace every `parse(…)` in `text` with its value at `at`."""
    if "parse(" not in text:
        return text
    return _PARSE.sub(lambda m: render_format(m.group(1), at), text)


def expand_name(text: str, at: datetime, params: Mapping[str, Any] | None = None) -> str:
    """Like `expand`, and also format bare strftime directives (for file names and paths).
    With `params`, `{name}` and `{name:FORMAT}` take parameter values (module doc)."""
    held: list[str] = []
    if params is not None and ("{" in text or "}" in text):
        text = _PLACEHOLDER.sub(lambda m: _hold(m, params, held), text)
    text = expand(text, at)
    if "%" in text or _KEYWORDS.search(text):
        text = render_format(text, at)
    for index, value in enumerate(held):
        text = text.replace(chr(_HOLD + index), value)
    return text


def _hold(match: re.Match[str], params: Mapping[str, Any], held: list[str]) -> str:
    token = match.group(0)
    if token in ("{{", "}}"):
        held.append(token[0])
    elif match.group(1) is None:
        raise TemplateError(
            f"a lone {token!r}: name a parameter as {{name}} or {{name:%Y%m%d}}, "
            f"or write {token * 2!r} for the brace itself"
        )
    else:
        held.append(name_value(match.group(1), match.group(2), params))
    return chr(_HOLD + len(held) - 1)


def name_value(name: str, fmt: str | None, params: Mapping[str, Any]) -> str:
    """One parameter's text inside a file name, refused when it would change the folder."""
    if name not in params:
        known = ", ".join(sorted(params)) or "none"
        raise TemplateError(f"{{{name}}} names no parameter (declared: {known})")
    value = params[name]
    if isinstance(value, Secret):
        raise TemplateError(f"parameter {name!r} is secret; a file name cannot show it")
    if fmt is not None:
        when = value
        if isinstance(value, str):
            try:
                when = datetime.fromisoformat(value.strip())
            except ValueError:
                raise TemplateError(
                    f"{{{name}:{fmt}}}: parameter {name} = {value!r} is not a date like "
                    "2025-06-01 (or 2025-06-01T06:00)"
                ) from None
        if not isinstance(when, date):
            raise TemplateError(
                f"{{{name}:{fmt}}}: parameter {name} = {value!r} is not a date"
            )
        text = _strftime(when, fmt)  # type: ignore[arg-type]
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = "" if value is None else str(value)
    bad = _UNSAFE.search(text)
    if bad or text in (".", "..") or text.startswith("~"):
        what = repr(bad.group(0)) if bad else "a leading '~'" if text[:1] == "~" else repr(text)
        raise TemplateError(
            f"parameter {name} = {text!r} cannot be part of a file name (it holds {what}); "
            "give a value without a path"
        )
    return text


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


def _strftime(when: date, fmt: str) -> str:
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
