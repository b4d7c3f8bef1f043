"""Durations as people write them in TOML: "90s", "15m", "2h", "1d", "1h30m", "250ms"."""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta
from decimal import Decimal

_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h|d|w))+")
_EXAMPLES = '"90s", "15m", "2h", "1d" or "1h30m"'


def quoted(value: object) -> str:
    """A value as written in TOML, for messages: strings in double quotes."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def parse_duration(value: object) -> timedelta:
    """Turn "1h30m" (or a number of seconds) into a timedelta; raise ValueError otherwise.

    Results are whole milliseconds, the precision `format_duration` writes back.
    """
    if isinstance(value, bool) or not isinstance(value, timedelta | int | float | str):
        raise ValueError(f"expected a duration like {_EXAMPLES}, got {quoted(value)}")
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if not _WHOLE.fullmatch(text):
            raise ValueError(f"expected a duration like {_EXAMPLES}, got {quoted(value)}")
        ms = sum(Decimal(number) * _UNIT_MS[unit] for number, unit in _PART.findall(text))
    elif isinstance(value, timedelta):
        ms = _milliseconds(value)
    else:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"expected a duration like {_EXAMPLES}, got {quoted(value)}")
        ms = Decimal(value) * 1000
    if ms < 0:
        shown = format_duration(value) if isinstance(value, timedelta) else quoted(value)
        raise ValueError(f"a duration cannot be negative, got {shown}")
    try:
        return timedelta(milliseconds=round(ms))
    except OverflowError:
        raise ValueError(f"duration {quoted(value)} is too long") from None


def _milliseconds(value: timedelta) -> Decimal:
    return Decimal(value // timedelta(microseconds=1)) / 1000


def format_duration(value: timedelta) -> str:
    """The shortest exact text for a duration, e.g. 5400 s -> "1h30m" (to the millisecond)."""
    ms = round(_milliseconds(value))
    if ms == 0:
        return "0s"
    if ms < 0:
        return "-" + format_duration(-value)
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
