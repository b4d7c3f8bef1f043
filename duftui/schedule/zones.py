"""Time zones for schedules: the machine's zone with its DST rules, and the instant a
wall-clock time names when DST skips or repeats it (DESIGN §6).

Everything the scheduler compares or subtracts is a UTC-aware datetime: Python compares
two datetimes that share a tzinfo by their wall clocks, which is wrong across a DST fold.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=1)
def local_zone() -> tuple[tzinfo, str | None]:
    """The machine's zone with its DST rules (not a fixed offset) and its IANA name.

    Looks at `TZ`, then the `/etc/localtime` link, then the file itself; UTC if none.
    """
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name), name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    localtime = Path("/etc/localtime")
    try:
        target = os.readlink(localtime)
        if "zoneinfo/" in target:
            name = target.split("zoneinfo/", 1)[1]
            return ZoneInfo(name), name
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    try:
        with localtime.open("rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime"), None
    except (OSError, ValueError):
        return UTC, "UTC"


def zone_named(name: str | None, default: tzinfo | None = None) -> tzinfo:
    """The zone of a schedule: its `timezone`, else `default`, else the machine's."""
    if name:
        return ZoneInfo(name)
    return default if default is not None else local_zone()[0]


def wall_to_instant(naive: datetime, zone: tzinfo) -> datetime:
    """The UTC instant a wall-clock time names in `zone`.

    A repeated time (DST ends) names its first occurrence; a time DST skips names the
    first valid moment after it, which is the end of the gap (02:30 on a day that jumps
    from 02:00 to 03:00 is 03:00).
    """
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    return _gap_end(naive, zone)


def _gap_end(naive: datetime, zone: tzinfo) -> datetime:
    """The instant DST skips over `naive`: bisect whole seconds (tzdb transitions are)."""
    before = int(naive.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp()) - 1
    after = int(naive.replace(tzinfo=zone, fold=0).astimezone(UTC).timestamp()) + 1
    if before > after:
        before, after = after, before
    while after - before > 1:
        middle = (before + after) // 2
        wall = datetime.fromtimestamp(middle, zone).replace(tzinfo=None)
        if wall > naive:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def as_instant(value: datetime, zone: tzinfo) -> datetime:
    """A definition's date-time as a UTC instant: naive values are wall-clock in `zone`."""
    if value.tzinfo is None:
        return wall_to_instant(value, zone)
    return value.astimezone(UTC)


def wall_of(instant: datetime, zone: tzinfo) -> datetime:
    """The naive wall-clock reading of an instant in `zone`."""
    return instant.astimezone(zone).replace(tzinfo=None)
