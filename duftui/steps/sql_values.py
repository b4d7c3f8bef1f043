"""How database values look in each output format, the same whichever server sent them.

Drivers hand back different Python types for the same data: psycopg parses `json` into
dicts and lists, MariaDB's JSON arrives as text; `bytea` and BLOBs are bytes, which the
csv module would write as `b'…'`. Before rows reach a writer (duftui/steps/formats.py),
each column whose values need it gets one converter, picked from the first value that is
not NULL:

| value | csv, tsv, psv, txt | json, jsonl | xlsx | parquet |
|---|---|---|---|---|
| date, time, timestamp | ISO 8601 (`2026-03-15T06:15:00+00:00`) | ISO 8601 | date cell | timestamp |
| decimal | its digits (`12.50`) | number | number | decimal |
| bytes | base64 | base64 | base64 | binary |
| JSON (dict, list) | compact JSON text | JSON text | JSON text | JSON text |
| NULL | empty | null | empty cell | null |

Timestamps with a zone are read in UTC: the SQL step sets the session's time zone to UTC.
Columns of plain numbers and text get no converter, so they cost nothing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from duftui.steps.formats import Rows

Converter = Callable[[Any], Any]
TEXT_FORMATS = ("csv", "tsv", "psv", "txt")
_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _base64(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _binary(value: Any) -> Any:
    return bytes(value) if isinstance(value, bytearray | memoryview) else value


def _json_text(value: Any) -> Any:
    return _compact(value) if isinstance(value, dict | list) else value


def converter_for(value: Any, fmt: str) -> Converter | None:
    """The converter a column needs in `fmt`, judged by one of its values (not None)."""
    if isinstance(value, dict | list):
        return _json_text
    if isinstance(value, bytes | bytearray | memoryview):
        return _binary if fmt == "parquet" else _base64
    if isinstance(value, datetime):  # str() of a date or a time is already ISO 8601
        return _iso if fmt in TEXT_FORMATS else None
    return None


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _keep_none(convert: Converter) -> Converter:
    def apply(value: Any) -> Any:
        return None if value is None else convert(value)

    return apply


def _then(first: Converter, second: Converter | None) -> Converter:
    if second is None:
        return first
    return lambda value: second(first(value))


def instant_columns(dialect: str, description: Any) -> frozenset[int]:
    """MySQL/MariaDB TIMESTAMP columns (type code 7) in a DBAPI cursor description."""
    if dialect != "mysql" or not description:
        return frozenset()
    return frozenset(i for i, column in enumerate(description) if column[1] == 7)


class ValueMapper:
    """Applies each column's converter to the blocks of one result. `instants` are the
    columns that hold points in time without saying so (MySQL's TIMESTAMP, read in the
    session's UTC): they get their zone back, as PostgreSQL's timestamptz has it."""

    def __init__(self, columns: int, fmt: str, instants: frozenset[int] = frozenset()) -> None:
        self.fmt = fmt
        self.pending = set(range(columns))
        self.converters: dict[int, Converter] = {}
        self.instants = instants

    def _classify(self, rows: Rows) -> None:
        for index in list(self.pending):
            for row in rows:
                value = row[index]
                if value is not None:
                    self.pending.discard(index)
                    found = converter_for(value, self.fmt)
                    if index in self.instants:
                        found = _then(_utc, found)
                    if found is not None:
                        self.converters[index] = found
                    break

    def block(self, rows: Rows) -> Rows:
        if self.pending and rows:
            self._classify(rows)
        if not self.converters or not rows:
            return rows
        # column by column through C-level zip and map: a Python loop per row costs more
        columns = list(zip(*rows, strict=True))
        for index, convert in self.converters.items():
            columns[index] = tuple(map(_keep_none(convert), columns[index]))
        return list(zip(*columns, strict=True))

    def blocks(self, source: Iterator[Rows]) -> Iterator[Rows]:
        for rows in source:
            yield self.block(rows)
