"""Building blocks shared by the task, project and connection models."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, model_validator

from duftui.definitions.durations import format_duration, parse_duration, quoted

KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")
CONNECTION_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class Strict(BaseModel):
    """Every definition model: unknown fields are errors, types are not coerced, and a
    loaded definition is a value nobody changes (edits build a new one)."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=False, frozen=True)

    def model_post_init(self, context: Any, /) -> None:
        """Share equal small values between definitions as they are made: a daemon holding
        10,000 tasks would otherwise keep 10,000 copies of "UTC", of `30s`, of empty lists
        and tables, and of each set of given field names. Safe because models are frozen
        and nothing changes a definition's lists or tables in place (edits build new
        data from `model_dump`, which copies; pydantic copies the field-name set before
        changing it in `model_copy`)."""
        values = self.__dict__
        for name, value in values.items():
            kind = type(value)
            if kind is str:
                shared = _SHARED_TEXT.get(value)
                if shared is not None:
                    values[name] = shared
                elif len(_SHARED_TEXT) < _SHARED_TEXT_MAX and len(value) <= 32:
                    _SHARED_TEXT[value] = value  # the first values seen are the common ones
            elif kind is timedelta:
                values[name] = _SHARED.setdefault(value, value)
            elif not value and (kind is list or kind is dict):
                values[name] = _EMPTY_LIST if kind is list else _EMPTY_DICT
        given = frozenset(self.__pydantic_fields_set__)
        shared = _SHARED_NAMES.get(given)
        if shared is None:
            shared = _SHARED_NAMES[given] = set(given)
        object.__setattr__(self, "__pydantic_fields_set__", shared)


_SHARED_TEXT: dict[str, str] = {}
_SHARED_TEXT_MAX = 512
_SHARED: dict[timedelta, timedelta] = {}
_SHARED_NAMES: dict[frozenset[str], set[str]] = {}
_EMPTY_LIST: list[Any] = []
_EMPTY_DICT: dict[str, Any] = {}


def _duration(value: object) -> timedelta:
    return parse_duration(value)


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str, when_used="always"),
]


def check_key(value: str, what: str = "key") -> str:
    """Keys name folders and files, so they stay lower-case and shell-safe."""
    if not KEY_PATTERN.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} is not valid: use lower-case letters, digits, '-' and '_', "
            "starting with a letter or digit"
        )
    return value


class SecretRef(Strict):
    """A value to look up at run time: `{ env = "VAR" }` or `{ secret = "name" }`."""

    env: str | None = None
    secret: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.secret is None):
            raise ValueError(REFERENCE_NEEDS_ONE)
        return self

    def describe(self) -> str:
        return f"env:{self.env}" if self.env is not None else f"secret:{self.secret}"


def is_reference(value: object) -> bool:
    """True for what is meant as a SecretRef in parsed TOML: a table of only `env` and
    `secret` strings. `{ env = "A", secret = "b" }` counts, so it is reported as a bad
    reference rather than as two unknown fields; `{ secret = true }` does not (that is a
    parameter table)."""
    return (
        isinstance(value, dict)
        and bool(value)
        and set(value) <= {"env", "secret"}
        and all(isinstance(item, str) for item in value.values())
    )


REFERENCE_NEEDS_ONE = 'a reference needs exactly one of env = "VAR" or secret = "name"'


Scalar = str | bool | int | float | datetime | date | time


def _param_value(value: Any) -> Any:
    if isinstance(value, SecretRef):
        return value
    if is_reference(value):
        if len(value) != 1:
            raise ValueError(REFERENCE_NEEDS_ONE)
        return SecretRef.model_validate(value)
    if isinstance(value, dict):
        raise ValueError(
            'expected a plain value or a reference like { env = "VAR" } / { secret = "name" }'
        )
    if isinstance(value, list):
        if not all(isinstance(item, str | bool | int | float) for item in value):
            raise ValueError("a list value may only hold strings, numbers and booleans")
        return value
    if not isinstance(value, str | bool | int | float | datetime | date | time):
        raise ValueError(f"unsupported value {quoted(value)}")
    return value


ParamValue = Annotated[Scalar | list[Any] | SecretRef, BeforeValidator(_param_value)]

TimezoneName = Annotated[str, BeforeValidator(lambda v: _check_timezone(v))]


def _check_timezone(value: object) -> str:
    import difflib
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

    if not isinstance(value, str):
        raise ValueError(
            f'expected an IANA time zone name like "Europe/Amsterdam", got {quoted(value)}'
        )
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(value, sorted(available_timezones()), n=1, cutoff=0.8)
        hint = (
            f"did you mean {close[0]!r}?"
            if close
            else 'use an IANA name like "Europe/Amsterdam" or "UTC"'
        )
        raise ValueError(f"unknown time zone {quoted(value)}; {hint}") from None
    return value


def _datetime_value(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"expected a date-time like 2026-12-01T06:00:00, got {quoted(value)}")


DateTimeValue = Annotated[datetime, BeforeValidator(_datetime_value)]

Misfire = Literal["skip", "coalesce", "all"]
