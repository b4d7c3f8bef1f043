"""Column types for table loads: the types of a table duftui creates (from parquet's
arrow types, else text), and what a value read from a file needs before it fits a
column of an existing table."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Column, types
from sqlalchemy.dialects import mssql, mysql

from duftui.steps.errors import StepError

Converter = Callable[[Any], Any] | None


def apply(convert: list[Converter], row: tuple[Any, ...]) -> tuple[Any, ...]:
    if not any(convert):
        return row
    return tuple(
        value if fn is None or value is None else fn(value)
        for fn, value in zip(convert, row, strict=True)
    )


def converters(columns: list[Column[Any]], dialect: str) -> list[Converter]:
    """What a text value from a file needs before it fits a column: base64 → bytes for
    binary columns (the SQL step writes bytes as base64), JSON objects → text, and on
    MySQL/MariaDB ISO timestamps → UTC wall time, true/false → 1/0."""
    found: list[Converter] = []
    for column in columns:
        kind = column.type
        if isinstance(kind, types._Binary):
            found.append(_from_base64)
        elif isinstance(kind, types.JSON) or type(kind).__name__ in ("JSON", "JSONB"):
            found.append(json_text)
        elif dialect == "mysql" and isinstance(kind, types.DateTime):
            found.append(_mysql_datetime)
        elif dialect == "mysql" and isinstance(kind, types.Date):
            found.append(_mysql_date)
        elif dialect == "mysql" and isinstance(kind, types.Boolean):
            found.append(_mysql_bool)
        else:
            found.append(None)
    return found


def _from_base64(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise StepError(f"{value[:40]!r} is not base64 for a binary column") from None


def json_text(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def _mysql_datetime(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value  # let the server say what it thinks of it
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _mysql_date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value


def _mysql_bool(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return 1 if value.lower() == "true" else 0
    return value


def column_type(arrow_type: Any, is_key: bool) -> Any:
    """A column type for a created table: from parquet's arrow type, else text."""
    text: Any = (
        types.String(255)
        if is_key
        else types.Text()
        .with_variant(mysql.LONGTEXT(), "mysql")
        .with_variant(mssql.NVARCHAR(None), "mssql")
    )
    if arrow_type is None:
        return text
    import pyarrow as pa

    t = pa.types
    if t.is_boolean(arrow_type):
        return types.Boolean()
    if t.is_integer(arrow_type):
        return types.BigInteger()
    if t.is_floating(arrow_type):
        return types.Float(53)
    if t.is_decimal(arrow_type):
        return types.Numeric(arrow_type.precision, arrow_type.scale)
    if t.is_date(arrow_type):
        return types.Date()
    if t.is_timestamp(arrow_type):
        return types.DateTime(timezone=arrow_type.tz is not None)
    if t.is_time(arrow_type):
        return types.Time()
    if t.is_binary(arrow_type) or t.is_large_binary(arrow_type):
        return (
            types.LargeBinary()
            .with_variant(mysql.LONGBLOB(), "mysql")
            .with_variant(mssql.VARBINARY("max"), "mssql")
        )
    return text
