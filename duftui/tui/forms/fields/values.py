"""Text in a form field ↔ TOML data, with no Textual in it.

A form shows every value as one line of text and must give back exactly what the file
held when the operator did not touch it, so each conversion here round-trips:
`parse_x(show_x(value)) == value`. Text that does not parse is handed on as text, so the
definition's own validation reports it with `duftui validate`'s message instead of the
form inventing one.
"""

from __future__ import annotations

import shlex
import tomllib
from datetime import date, datetime, time, tzinfo
from typing import Any

import tomlkit


def toml_literal(value: Any) -> str:
    """A value as TOML writes it inline: `2`, `true`, `["a", "b"]`, `{secret = "x"}`."""
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        table.update({str(k): _item(v) for k, v in value.items()})
        return table.as_string().strip()
    return _item(value).as_string().strip()


def _item(value: Any) -> Any:
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        table.update({str(k): _item(v) for k, v in value.items()})
        return table
    if isinstance(value, list):
        array = tomlkit.array()
        array.extend(_item(v) for v in value)
        return array
    return tomlkit.item(value)


def parse_value(text: str) -> Any:
    """A parameter default or env value: a TOML literal when the text is one (`2`, `true`,
    `[1, 2]`, `{secret = "x"}`, `"quoted"`), else the text itself; empty is None."""
    if not text.strip():
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, KeyError):
        return text


def show_value(value: Any) -> str:
    """The text `parse_value` turns back into `value` (a string that would read as a
    number or boolean is shown quoted)."""
    if value is None:
        return ""
    if isinstance(value, str) and parse_value(value) == value:
        return value
    return toml_literal(value)


def parse_text(text: str) -> str | None:
    return text if text.strip() else None


def parse_list(text: str) -> list[str]:
    """Comma-separated words (tags, connections, addresses); empty is an empty list."""
    return [part.strip() for part in text.split(",") if part.strip()]


def show_list(values: Any) -> str:
    if isinstance(values, list):
        return ", ".join(str(v) for v in values)
    return "" if values is None else str(values)


def parse_int(text: str) -> int | str | None:
    """A whole number, or the text as typed (the model then says what it expected)."""
    if not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError:
        return text


def parse_float(text: str) -> float | str | None:
    if not text.strip():
        return None
    try:
        return float(text.strip())
    except ValueError:
        return text


def parse_datetime(text: str) -> datetime | str | None:
    """`2026-12-01T06:00` or `2026-12-01 06:00` as a TOML date-time (local unless it has
    an offset), so the file gets a date-time, not a quoted string."""
    if not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return text


def show_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return "" if value is None else str(value)


def parse_args(text: str) -> list[str]:
    """Arguments as a shell would split them; unbalanced quotes fall back to spaces."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def show_args(values: Any) -> str:
    return shlex.join(str(v) for v in values) if isinstance(values, list) else ""


def parse_mapping(text: str) -> dict[str, Any]:
    """`KEY=value, OTHER={secret = "x"}` → a table; values go through `parse_value` but
    stay text unless they are a reference (environment variables are strings)."""
    out: dict[str, Any] = {}
    for part in _split_top(text):
        key, sep, raw = part.partition("=")
        if not key.strip():
            continue
        value = parse_value(raw.strip()) if sep else ""
        if not isinstance(value, dict):
            value = raw.strip()
        out[key.strip()] = value
    return out


def show_mapping(mapping: Any) -> str:
    if not isinstance(mapping, dict):
        return ""
    return ", ".join(
        f"{k}={toml_literal(v) if isinstance(v, dict) else v}" for k, v in mapping.items()
    )


def parse_table(text: str) -> dict[str, Any]:
    """`pool_size=5, echo=true, schema=main` → a table of TOML values (text as text)."""
    out: dict[str, Any] = {}
    for part in _split_top(text):
        key, _, raw = part.partition("=")
        if key.strip():
            out[key.strip()] = parse_value(raw.strip())
    return out


def show_table(table: Any) -> str:
    if not isinstance(table, dict):
        return ""
    return ", ".join(f"{k}={show_value(v)}" for k, v in table.items())


def _split_top(text: str) -> list[str]:
    """Split on commas outside `{…}`, so a reference's own comma-free table stays whole."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def show_fire(instant: datetime, zone: tzinfo | None = None) -> str:
    """One upcoming fire on the schedule's clock with its UTC offset:
    `Tue 2026-11-24 06:15:00 +01:00`."""
    local = instant.astimezone(zone) if zone is not None else instant
    offset = local.strftime("%z")
    shown = f"{offset[:3]}:{offset[3:]}" if offset else "UTC"
    return f"{local:%a %Y-%m-%d %H:%M:%S} {shown}"


def get_path(data: Any, path: str) -> Any:
    """`get_path(data, "run.file")`: a value of nested TOML data, or None."""
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set a value in nested TOML data, creating tables on the way (None leaves it out)."""
    *parents, last = path.split(".")
    for part in parents:
        child = data.get(part)
        if not isinstance(child, dict):
            child = {}
            data[part] = child
        data = child
    data[last] = value
