"""Helpers shared by the commands: the context object, tables, time options."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from duftui.context import Context
from duftui.definitions.durations import parse_duration

__all__ = [
    "COUNT",
    "RUN_ID",
    "WHEN",
    "Context",
    "WholeNumber",
    "ago",
    "echo_json",
    "fail",
    "local_time",
    "parse_when",
    "pass_context",
    "table",
]

pass_context = click.pass_obj

SQLITE_INT_MAX = 2**63 - 1


class WholeNumber(click.ParamType):
    """A whole number within bounds, so no value reaches SQLite (64-bit integers) or a
    loop that it would overflow or hang; the message gives the bounds."""

    name = "integer"

    def __init__(self, low: int, high: int = SQLITE_INT_MAX, what: str | None = None) -> None:
        self.low, self.high, self.what = low, high, what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = int(str(value).strip(), 10)
            except ValueError:
                self.fail(f"{value!r} is not a whole number", param, ctx)
        if self.low <= number <= self.high:
            return number
        if self.what:
            self.fail(
                f"{value} is not a {self.what} ({self.what}s are whole numbers from "
                f"{self.low} to {self.high})",
                param,
                ctx,
            )
        self.fail(f"{value} is out of range: give a whole number from {self.low} to "
                  f"{self.high}", param, ctx)


RUN_ID = WholeNumber(1, what="run id")
COUNT = WholeNumber(1)


# Exit codes (README): 0 ok, 1 the run or check failed, 2 usage error (click's),
# 3 not running / nothing to do, 4 not found (task, run, project).
FAILED, USAGE, NOTHING_TO_DO, NOT_FOUND = 1, 2, 3, 4


def fail(message: str, code: int = 1) -> None:
    """Print an error the way every command does and exit."""
    click.echo(f"duftui: {message}", err=True)
    sys.exit(code)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Plain left-aligned columns that pipe well (`column -t` style)."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str, ensure_ascii=False))


_RELATIVE = re.compile(r"^\d+(\.\d+)?(ms|s|m|h|d|w)")


def parse_when(value: str | datetime | None, *, now: datetime | None = None) -> datetime | None:
    """ "2026-11-01", "2026-11-01T06:00", "today", or a duration ago like "2h" / "7d"."""
    if value is None or isinstance(value, datetime):
        return value
    now = now or datetime.now(UTC)
    text = value.strip()
    if text == "today":
        local = datetime.now().astimezone()
        return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    try:
        if _RELATIVE.match(text):
            try:
                return now - parse_duration(text)
            except ValueError as exc:
                raise click.BadParameter(f"{value!r}: {exc}") from None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise click.BadParameter(
                f"{value!r}: expected a date/time like 2026-11-01T06:00 or a duration like "
                "2h or 7d"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.astimezone()  # local wall-clock time as the user typed it
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise click.BadParameter(
            f"{value!r} is outside the dates duftui can handle (years 1 to 9999); give a "
            "shorter duration or a date"
        ) from None


class When(click.ParamType):
    """A time option (`--since`, `--at` …) parsed when the command line is, so a bad value
    is a usage error that names its option."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime | None:
        try:
            return parse_when(value)
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


WHEN = When()


def local_time(value: datetime | None, seconds: bool = True) -> str:
    """A timestamp in the machine's time zone, compact for tables."""
    if value is None:
        return ""
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return value.astimezone().strftime(fmt)


def ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return ""
    delta = (now or datetime.now(UTC)) - value
    if delta < timedelta(0):
        return "in " + _span(-delta)
    return _span(delta) + " ago"


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
