"""Timestamps are stored as fixed-width UTC ISO-8601 text, so they sort as strings,
SQLite's date functions read them, and exports pass them through unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT_LEN = len("2026-01-01T00:00:00.000000+00:00")


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(value: datetime | None) -> str | None:
    """Aware or naive-UTC datetime -> "2026-11-23T10:00:00.123456+00:00"."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    else:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def from_iso(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def now_iso() -> str:
    return to_iso(utcnow())  # type: ignore[return-value]
