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

__all__ = ["Context", "ago", "echo_json", "fail", "local_time", "parse_when", "pass_context", "table"]

pass_context = click.pass_obj


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


def parse_when(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """ "2026-11-01", "2026-11-01T06:00", "today", or a duration ago like "2h" / "7d"."""
    if value is None:
        return None
    now = now or datetime.now(UTC)
    text = value.strip()
    if text == "today":
        local = datetime.now().astimezone()
        return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    if _RELATIVE.match(text):
        return now - parse_duration(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: expected a date/time like 2026-11-01T06:00 or a duration like 2h or 7d"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # local wall-clock time as the user typed it
    return parsed.astimezone(UTC)


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
