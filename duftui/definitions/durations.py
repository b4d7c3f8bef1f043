"""Durations as people write them in TOML: "90s", "15m", "2h", "1d", "1h30m", "250ms"."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+")


def parse_duration(value: object) -> timedelta:
    """Turn "1h30m" (or a number of seconds) into a timedelta; raise ValueError otherwise."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f'expected a duration like "90s", "15m", "2h", "1d", got {value!r}')
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value!r}")
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError(f'expected a duration like "90s", "15m", "2h", "1d", got {value!r}')
    text = value.strip().replace(" ", "")
    if not _WHOLE.fullmatch(text):
        raise ValueError(
            f'expected a duration like "90s", "15m", "2h", "1d" or "1h30m", got {value!r}'
        )
    total = timedelta()
    for number, unit in _PART.findall(text):
        total += float(number) * _UNITS[unit]
    return total


def format_duration(value: timedelta) -> str:
    """The shortest exact text for a duration, e.g. 5400 s -> "1h30m"."""
    ms = round(value.total_seconds() * 1000)
    if ms == 0:
        return "0s"
    parts: list[str] = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    if ms:
        parts.append(f"{ms}ms")
    return "".join(parts)


def humanize_seconds(seconds: float | None) -> str:
    """A compact elapsed time for tables: 0.4s, 12s, 3m05s, 2h01m."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"
