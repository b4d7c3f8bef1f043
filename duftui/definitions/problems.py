"""Located definition problems, and turning pydantic errors into them.

Every message reads `path:line: field: message`, e.g.
`tasks/clinic/extract.toml:12: run.kind: expected one of python, notebook, …, got "pyton"`.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from pydantic import BaseModel, ValidationError

from duftui.definitions.locate import TomlLocator


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or suspicious) in a definition file."""

    file: str
    line: int | None
    field: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        head = f"{where}: {self.field}: " if self.field else f"{where}: "
        tail = " (warning)" if self.severity == "warning" else ""
        return head + self.message + tail

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def field_name(path: Sequence[str | int]) -> str:
    """("schedule", 0, "cron") -> "schedule[0].cron"."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def show(value: Any) -> str:
    """A value as it would be written in TOML, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:57] + '…"'
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def suggest(word: str, choices: Sequence[str], limit: int = 12) -> str:
    """ "; did you mean 'x'?" when something close exists, else the allowed names."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    if choices and len(choices) <= limit:
        return f" (expected one of: {', '.join(sorted(choices))})"
    return ""


_EXPECTED = {
    "bool_type": "true or false",
    "int_type": "a whole number",
    "float_type": "a number",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "datetime_type": "a date-time",
    "date_type": "a date",
    "timedelta_type": "a duration",
}


def _real_path(loc: tuple[Any, ...], data: Any, error_type: str) -> tuple[str | int, ...]:
    """Keep the parts of a pydantic loc that index into the data.

    Other parts are union-member tags ("str", "CronFields", "function-after[…]") or
    "[key]" markers, which are skipped: the parts after them still index the data.
    """
    path: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        if (isinstance(node, dict) and isinstance(part, str) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
            path.append(part)
        elif error_type == "missing" and index == len(loc) - 1 and isinstance(node, dict):
            path.append(part)
    return tuple(path)


def _model_at(model: type[BaseModel], path: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class that holds the fields at `path` (walking dicts, lists, optionals)."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            current = _inner(current, list)
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
        else:
            current = _inner(current, dict)
        if current is None:
            return None
    return _as_model(current)


def _as_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _as_model(arg)
        if found:
            return found
    return None


def _inner(annotation: Any, container: type) -> Any:
    """The element type of list[...] / value type of dict[...] inside an annotation."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _inner(typing.get_args(annotation)[0], container)
    if origin is container:
        args = typing.get_args(annotation)
        return args[-1] if args else None
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _inner(arg, container)
            if found is not None:
                return found
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _message(error: dict[str, Any], model: type[BaseModel], path: tuple[str | int, ...]) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        holder = _model_at(model, path[:-1])
        names = list(holder.model_fields) if holder else []
        return "unknown field" + suggest(str(path[-1]), names, limit=len(names))
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        choices = expected.replace("'", "").replace(" or ", ", ")
        hint = suggest(str(value), choices.split(", ")) if isinstance(value, str) else ""
        return f"expected one of {choices}, got {show(value)}" + (
            hint if hint.startswith(";") else ""
        )
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {show(value)}"
    if kind in ("value_error", "assertion_error"):
        message = str(error.get("ctx", {}).get("error", error["msg"]))
        return message
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        ctx = error.get("ctx", {})
        bound = next(iter(ctx.values()), "")
        sign = {
            "greater_than_equal": ">=",
            "greater_than": ">",
            "less_than_equal": "<=",
            "less_than": "<",
        }[kind]
        return f"must be {sign} {bound}, got {show(value)}"
    return f"{error['msg']} (got {show(value)})"


def problems_from_validation(
    exc: ValidationError,
    model: type[BaseModel],
    data: Any,
    file: str,
    locator: TomlLocator | None,
    prefix: tuple[str | int, ...] = (),
) -> list[Problem]:
    """One Problem per distinct field; union alternatives are merged into one message."""
    grouped: dict[tuple[str | int, ...], list[str]] = {}
    mismatches: set[tuple[str | int, ...]] = set()
    for error in exc.errors(include_url=False):
        path = _real_path(tuple(error["loc"]), data, error["type"])
        message = _message(error, model, path)
        messages = grouped.setdefault(path, [])
        if message not in messages:
            messages.append(message)
        if error["type"] in _EXPECTED:
            mismatches.add(path)
    # A union whose table member got further (errors below this path) makes the other
    # members' "expected a string, got a table" noise: the deeper errors are the real ones.
    for path in mismatches:
        shadowed = all(
            message.startswith("expected ") and ", got " in message for message in grouped[path]
        )
        if shadowed and any(other[: len(path)] == path and other != path for other in grouped):
            del grouped[path]
    problems = []
    for path, messages in grouped.items():
        full = prefix + path
        line = locator.line_of(full) if locator else None
        problems.append(Problem(file, line, field_name(full), _merge(messages)))
    return problems


def _merge(messages: list[str]) -> str:
    """ "expected a string, got 5" + "expected a list, got 5" -> "expected a string or a list, got 5"."""
    if len(messages) == 1:
        return messages[0]
    expected, got = [], set()
    for message in messages:
        if message.startswith("expected ") and ", got " in message:
            head, tail = message[len("expected ") :].rsplit(", got ", 1)
            expected.append(head)
            got.add(tail)
        else:
            return "; ".join(messages)
    if len(got) == 1:
        return f"expected {' or '.join(expected)}, got {got.pop()}"
    return "; ".join(messages)
